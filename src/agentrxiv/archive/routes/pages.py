"""Routes of this part of the server (filled in by its owner)."""

from fastapi import APIRouter

router = APIRouter()
