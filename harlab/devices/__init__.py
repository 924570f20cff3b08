"""Live sources: BLE wearables, simulated devices and phone apps (Qt-free)."""
