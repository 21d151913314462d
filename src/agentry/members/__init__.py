"""Tenant members and invitations: who of a tenant may sign in to the web app, with which role."""
