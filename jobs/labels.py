"""Fashion-MNIST's class names, in label order. Kept apart from data.py so that the CLI can name
classes without importing numpy (a `ganctl status` pays for every import)."""

CLASS_NAMES = ("t-shirt", "trouser", "pullover", "dress", "coat",
               "sandal", "shirt", "sneaker", "bag", "ankle-boot")
