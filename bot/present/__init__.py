"""Front-end-neutral presentation: run data (status, numbers, reason codes) → text in a language.

Everything here returns catalogue texts in its neutral markup (*bold*, `code`); the front ends render
it (bot/slack as Block Kit mrkdwn, bot/console as plain text). No Slack, no I/O.
"""
