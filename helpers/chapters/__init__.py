"""The five chapters' own modules: each turns its chapter's parameters into the runs it needs
(through the engine: ``helpers.train``, ``helpers.runs``) and its measurements into claims rows.

============== ==============================================================================
module         chapter
============== ==============================================================================
loss_landscape 01: lines, soups, radial plane, tunnel, width, saddles, unit variance
lottery        02: iterative magnitude pruning, reset / rewind, controls, ticket overlap
modes          03: independent runs, trajectories, t-SNE, subspace samplers, dataset shift
mimo           04: MIMO and naive multi-head networks, deep ensembles, the capacity sweep
instability    05: the nondeterminism protocol, bit flips, CKA per layer, divergence
============== ==============================================================================

Import one as ``from helpers.chapters import modes``. Nothing here imports the others: the
engine never imports a chapter (``helpers.gates`` names them by string).
"""
