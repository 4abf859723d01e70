package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// newFlagSet returns a flag set for a subcommand whose --help prints a summary, the
// usage line and every flag with its default.
func newFlagSet(env *cliEnv, name, usageLine, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		w := env.stdout
		fmt.Fprintf(w, "Usage: %s\n\n%s\n\nFlags:\n", usageLine, strings.TrimSpace(about))
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parseFlags parses args and then the config file named by the "config" flag, if the
// set has one. Flags given on the command line win over the file. It returns
// flag.ErrHelp after printing the help when asked for it.
func parseFlags(env *cliEnv, fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err // the flag package printed the help already
		}
		return fmt.Errorf("%w: %v (see 'xsync %s --help')", errUsage, err, fs.Name())
	}
	if fs.NArg() > 0 && fs.Lookup("config") != nil {
		return fmt.Errorf("%w: unexpected argument %q (see 'xsync %s --help')", errUsage, fs.Arg(0), fs.Name())
	}
	if f := fs.Lookup("config"); f != nil && f.Value.String() != "" {
		if err := applyConfigFile(fs, f.Value.String()); err != nil {
			return err
		}
	}
	return nil
}

// applyConfigFile sets every flag named in a YAML file (keys are the flag names) that
// was not given on the command line. Lists become comma-separated values.
func applyConfigFile(fs *flag.FlagSet, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: config file: %v", errUsage, err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("%w: config file %s: %v", errUsage, path, err)
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f := fs.Lookup(k)
		if f == nil || k == "config" {
			return fmt.Errorf("%w: config file %s: unknown key %q (keys are the flag names of 'xsync %s --help')", errUsage, path, k, fs.Name())
		}
		if given[k] {
			continue
		}
		val, err := configValue(m[k])
		if err != nil {
			return fmt.Errorf("%w: config file %s: key %q: %v", errUsage, path, k, err)
		}
		if err := fs.Set(k, val); err != nil {
			return fmt.Errorf("%w: config file %s: key %q: %v", errUsage, path, k, err)
		}
	}
	return nil
}

func configValue(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			s, err := configValue(e)
			if err != nil {
				return "", err
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), nil
	default:
		return "", fmt.Errorf("unsupported value %v (use a string, number, boolean or list)", v)
	}
}

// exitFor maps an error from flag parsing to an exit code.
func exitFor(env *cliEnv, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintf(env.stderr, "xsync: %v\n", err)
	if errors.Is(err, errUsage) {
		return exitUsage
	}
	return exitFailed
}

// secretFlag is a password given as --NAME, in a file (--NAME-file) or in an
// environment variable, in that order of precedence.
type secretFlag struct{ direct, file, envVar string }

// register adds --name and --name-file; about says whose password it is.
func (f *secretFlag) register(fs *flag.FlagSet, name, about, envVar string) {
	f.envVar = envVar
	fs.StringVar(&f.direct, name, "", about)
	fs.StringVar(&f.file, name+"-file", "", "file holding that password (env "+envVar+" also works)")
}

// get resolves the password.
func (f *secretFlag) get(env *cliEnv) (string, error) {
	return secret(env, f.direct, f.file, f.envVar)
}

// secret resolves a password given directly, from a file (flag *-file) or from an
// environment variable, in that order of precedence: flag, file, environment.
func secret(env *cliEnv, direct, file, envVar string) (string, error) {
	if direct != "" {
		return direct, nil
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%w: password file: %v", errUsage, err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return env.getenv(envVar), nil
}
