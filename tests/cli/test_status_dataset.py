from ganctl.jobs.labels import classes_text
from ganctl.cli.status import dataset_text


def test_dataset_line_shows_counts_skips_and_cache_hits():
    data = {"images": 129, "image_shape": [64, 64, 3], "skipped": 1, "cache_hit": True}
    text = dataset_text({"dataset": "folder:/pics"}, data)
    assert text == "folder:/pics  129 images 64x64x3, 1 skipped  (decoded from cache)"
    assert dataset_text({}, None) == "fashion-mnist"


def test_classes_of_folder_datasets_are_names():
    assert classes_text([1, 8]) == "trouser,bag"
    assert classes_text(["cats", "dogs"]) == "cats,dogs"
