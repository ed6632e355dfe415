"""Random spot-check campaigns (双随机、一公开): verifiable draws and covert release."""
