SECRET_KEY = "from-config"
PAGE_SIZE = 50
