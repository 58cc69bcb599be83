"""A module with two services: which one to serve must be named."""

from flask import Flask

from flaskd import Service

admin = Service(Flask("admin"), env_prefix="ADMIN_")
public = Service(Flask("public"), env_prefix="PUBLIC_")
service = public
