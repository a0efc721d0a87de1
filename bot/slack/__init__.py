"""The Slack app: Bolt over Socket Mode, listeners grouped by surface, Block Kit rendering, progress edits."""
