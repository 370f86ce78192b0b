"""A person's data: everything about them downloaded as one zip, and the erasure of a former
client or writer. Each feature contributes its part (portal/privacy/parts.py)."""
