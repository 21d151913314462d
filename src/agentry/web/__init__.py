"""The tenant web app (`web/`): its built files and its sign-in settings, served at `/app`."""
