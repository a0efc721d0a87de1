"""The Slack chat-ops bot: Slack app, conversation engine, storage and run manager. Never imports torch."""
