"""Distributed training on torch.distributed, launched by torchrun: data parallel (DDP) and pipeline parallel."""
