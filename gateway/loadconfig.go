package gateway

import "github.com/racgate/racgate/config"

// LoadConfig reads and validates a config file as config.Load does, with every
// endpoint's merged settings checked by its protocol's adapter (checkSettings).
func LoadConfig(path string) (*config.Config, error) { return config.Load(path, checkSettings) }

// ParseConfig is LoadConfig for text; file names it in messages.
func ParseConfig(file string, data []byte) (*config.Config, error) {
	return config.Parse(file, data, checkSettings)
}

// checkSettings refuses merged settings a protocol adapter would refuse at connect time,
// so that the mistake shows when the file loads.
func checkSettings(protocol string, set config.Settings) error {
	var err error
	switch protocol {
	case "vnc":
		_, _, err = vncOptions(set)
	case "ssh":
		_, _, err = sshOptions(set)
	case "rdp":
		_, err = rdpOptions(set)
	}
	if err == nil && protocol != "ssh" && set.Bool("enable-sftp") {
		_, _, err = sftpHostConfig(set)
	}
	if err == nil && protocol == "rdp" {
		_, err = driveOptions(set)
	}
	return err
}
