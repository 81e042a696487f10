greeting  = "greeting-from-var-file"
from_file = "from-file-prod"
