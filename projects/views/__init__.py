"""The pages, one module per page (or family of small pages). Views are thin:
they scope every lookup through ``projects.services.access``, translate the
request once (forms, ``projects.services.composer``) and call a service."""
