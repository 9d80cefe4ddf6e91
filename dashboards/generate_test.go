package dashboards

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"
)

const regenerate = "run go generate ./dashboards/..."

// The committed files are exactly what the generator writes: nothing
// stale, nothing missing, nothing extra in json/.
func TestGeneratedFilesUpToDate(t *testing.T) {
	files, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.FromSlash(name))
		if err != nil {
			t.Errorf("%s: %v (%s)", name, err, regenerate)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: %s", name, regenerate)
		}
	}
	onDisk, _ := filepath.Glob(filepath.Join(JSONDir, "*.json"))
	for _, f := range onDisk {
		if _, ok := files[filepath.ToSlash(f)]; !ok {
			t.Errorf("%s is not generated any more: %s (it removes it)", f, regenerate)
		}
	}
}

// Generating twice gives the same bytes: no map order or pointer leaks
// into the output.
func TestGenerationIsDeterministic(t *testing.T) {
	a, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	for name := range a {
		if !bytes.Equal(a[name], b[name]) {
			t.Errorf("%s differs between two runs", name)
		}
	}
}

// The ConfigMap carries every dashboard byte for byte, with the sidecar's
// label, and stays small enough for Kubernetes.
func TestConfigMap(t *testing.T) {
	b, err := os.ReadFile(filepath.FromSlash(ConfigMap))
	if err != nil {
		t.Fatalf("%v (%s)", err, regenerate)
	}
	var cm struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   struct {
			Name        string            `yaml:"name"`
			Namespace   string            `yaml:"namespace"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"metadata"`
		Data map[string]string `yaml:"data"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cm); err != nil {
		t.Fatal(err)
	}
	if cm.APIVersion != "v1" || cm.Kind != "ConfigMap" || cm.Metadata.Name == "" {
		t.Errorf("not a v1 ConfigMap with a name: %+v", cm)
	}
	if cm.Metadata.Labels["grafana_dashboard"] != "1" {
		t.Errorf(`label grafana_dashboard: "1" missing: %v`, cm.Metadata.Labels)
	}
	// kustomize and kubectl -n set it; a fixed one would fight them.
	if cm.Metadata.Namespace != "" {
		t.Errorf("namespace %q set", cm.Metadata.Namespace)
	}
	onDisk, _ := filepath.Glob(filepath.Join(JSONDir, "*.json"))
	if len(cm.Data) != len(onDisk) {
		t.Errorf("ConfigMap has %d dashboards, %s has %d", len(cm.Data), JSONDir, len(onDisk))
	}
	for _, f := range onDisk {
		want, _ := os.ReadFile(f)
		if got, ok := cm.Data[filepath.Base(f)]; !ok || got != string(want) {
			t.Errorf("ConfigMap key %s differs from %s", filepath.Base(f), f)
		}
	}
	// Client-side kubectl apply stores the whole object in an annotation
	// limited to 256 KiB; etcd limits a ConfigMap to 1 MiB. Past the
	// first, only server-side apply works: split the ConfigMap before.
	asJSON, _ := json.Marshal(cm)
	if len(asJSON) > 256*1024 {
		t.Errorf("ConfigMap is %d bytes as JSON: client-side kubectl apply fails above 262144; split it", len(asJSON))
	}
}
