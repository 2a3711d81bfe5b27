"""The Triton flash-attention kernels (imported on first use: see `launch`)."""
