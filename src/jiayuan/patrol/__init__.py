"""视频巡查: patrol plans over the gate cameras, the rounds people make of them, and what they find."""
