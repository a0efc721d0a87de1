"""Predicting with a finished run's model from the bot, which never imports torch: the files a user
sends are checked here (files.py), then a trainer-side worker process (`python -m training.serve`)
classifies them (client.py); present.py words the answer in the user's language."""

from bot.predict.client import ImageResult, PredictError, PredictService
from bot.predict.files import Accepted, Limits, Problem, gather_images

__all__ = [
    "Accepted",
    "ImageResult",
    "Limits",
    "PredictError",
    "PredictService",
    "Problem",
    "gather_images",
]
