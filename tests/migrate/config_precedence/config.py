PAGE_SIZE = 50
SECRET_KEY = "from-config"
