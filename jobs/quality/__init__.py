"""Quality of a generator, in three modules named by what they do:

- metrics.py     the pure maths (numpy only): FD, KID, precision/recall, density/coverage, the
                 class histogram, the collapse check, `evaluate` -> Quality
- classifier.py  the Fashion-MNIST classifier whose features the metrics are computed in
- scoring.py     scores a generator: its images against real test images, in that feature space

The CLI prints the figures (cli/quality.py, `ganctl eval`: cli/evaluate.py).
"""
