"""Fashion-MNIST's class names, in label order. Kept apart from data.py so that the CLI can name
classes without importing numpy (a `ganctl status` pays for every import)."""

CLASS_NAMES = ("t-shirt", "trouser", "pullover", "dress", "coat",
               "sandal", "shirt", "sneaker", "bag", "ankle-boot")
# Other spellings users type for a class name.
ALIASES = {"tshirt": "t-shirt", "t-shirt/top": "t-shirt", "top": "t-shirt", "boot": "ankle-boot",
           "ankleboot": "ankle-boot"}


def fashion_index(name) -> int | None:
    """The Fashion-MNIST index of a class name as typed (any case, `_` for `-`, an alias), or None."""
    key = str(name).strip().lower().replace("_", "-")
    key = ALIASES.get(key, key)
    return CLASS_NAMES.index(key) if key in CLASS_NAMES else None


def classes_text(classes) -> str:
    """A job's classes as a user reads and types them: Fashion-MNIST's indices by name, a folder
    dataset's sub-folder names as they are, "all" for none."""
    if not classes:
        return "all"
    return ",".join(CLASS_NAMES[c] if isinstance(c, int) and 0 <= c < len(CLASS_NAMES) else str(c)
                    for c in classes)
