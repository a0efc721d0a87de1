"""The conversation engine: a chat thread → a complete, validated TrainingConfig. No Slack, no torch."""

from bot.conversation.datasets import DatasetPathError, DatasetSummary, list_datasets, resolve_dataset_path
from bot.conversation.service import ConversationService, Turn

__all__ = [
    "ConversationService",
    "DatasetPathError",
    "DatasetSummary",
    "Turn",
    "list_datasets",
    "resolve_dataset_path",
]
