"""The delivery pipeline's own code: CI checks, the API canary deploy, post-deploy verification."""
