"""Places and equipment: the hospital's location tree (位置) and its equipment register (设备台账)."""
