package report

// WriteSVG writes the charts into dir.
func WriteSVG(dir string, run *Run) error { return nil }
