"""Fashion-MNIST's class names, in label order. Kept apart from data.py so that the CLI can name
classes without importing numpy (a `ganctl status` pays for every import)."""

CLASS_NAMES = ("t-shirt", "trouser", "pullover", "dress", "coat",
               "sandal", "shirt", "sneaker", "bag", "ankle-boot")


def classes_text(classes) -> str:
    """A job's classes as a user reads and types them: Fashion-MNIST's indices by name, a folder
    dataset's sub-folder names as they are, "all" for none."""
    if not classes:
        return "all"
    return ",".join(CLASS_NAMES[c] if isinstance(c, int) and 0 <= c < len(CLASS_NAMES) else str(c)
                    for c in classes)
