"""The trainer (`python -m training`). Importing this package must not import torch: the bot imports
training.config and training.events."""
