SITE = "links.example"
LOG_LEVEL = "INFO"
