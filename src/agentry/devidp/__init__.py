"""A development identity provider shaped like Entra ID v2 (local profile only)."""
