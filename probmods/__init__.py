"""probmods: statistical methods in image processing, worked out in code.

Modules
-------
datasets
    Toy 2-D distributions of the course (exact samplers and densities).
grids
    Regular 2-D grids for evaluating, plotting and integrating densities.
kde
    Kernel density estimation with a bandwidth matrix.
plotting
    Figure helpers shared by every chapter.
"""

__version__ = "0.1.0"
