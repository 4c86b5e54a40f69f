"""Device profiles: a device *type* (product facts) and an *instance* (this unit's wiring)."""
from harness.profile.schema import DeviceType, DeviceProfile
from harness.profile.loader import load_profile, load_type

__all__ = ["DeviceType", "DeviceProfile", "load_profile", "load_type"]
