"""Moderation: flags, the review queue, pre-moderation, sanctions and the audit log."""
