"""One stack per concern; each module holds one small stack."""
