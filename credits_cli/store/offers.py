"""Coupons and their redemptions, share-to-earn submissions, top-ups and referral grants."""

from __future__ import annotations

from .base import Store


class Offers(Store):
    """Coupons and their redemptions, share-to-earn submissions, top-ups and referral grants."""
