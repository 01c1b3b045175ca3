package predict

// The logistic function and its inverse in fixed point: squash(d) = 4096/(1+e^(-d/256))
// for d in -2047..2047, interpolated between 33 points; stretch is its inverse, made from
// squash with integers only, so that every decoder has the same tables bit for bit.

// squashPoints are squash at d = -2048, -1920, ..., 2048, rounded.
var squashPoints = [33]int32{1, 2, 4, 6, 10, 17, 27, 45, 74, 120, 194, 311, 488, 747, 1102, 1546,
	2048, 2550, 2994, 3349, 3608, 3785, 3902, 3976, 4022, 4051, 4069, 4079, 4086, 4090, 4092, 4094, 4095}

// squash maps a stretched probability d to a 12-bit probability, 1..4095.
func squash(d int32) int32 {
	if d > 2047 {
		d = 2047
	}
	if d < -2047 {
		d = -2047
	}
	w := d & 127
	i := d>>7 + 16
	return (squashPoints[i]*(128-w) + squashPoints[i+1]*w + 64) >> 7
}

// stretchTable[p] is the least d with squash(d) >= p: ln(p/(4096-p)) scaled by 256.
var stretchTable = func() (t [4096]int16) {
	p := int32(0)
	for d := int32(-2047); d <= 2047; d++ {
		v := squash(d)
		for ; p <= v; p++ {
			t[p] = int16(d)
		}
	}
	for ; p < 4096; p++ {
		t[p] = 2047
	}
	return t
}()

func stretch(p int32) int32 { return int32(stretchTable[p]) }
