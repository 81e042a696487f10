package apply

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// kustomizationFiles are the names kustomize recognizes, in its order.
var kustomizationFiles = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// Load reads the objects of a manifest file, a folder of manifests (*.yaml,
// *.yml and *.json directly in it, by name; sub-folders are not read) or a
// kustomization (a folder holding kustomization.yaml, built like `kubectl
// apply -k`). Multi-document YAML and List objects are split into their
// items. Every object needs apiVersion, kind and metadata.name: server-side
// apply cannot create objects with generateName.
func Load(path string) ([]*unstructured.Unstructured, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read manifests: %w", err)
	}
	if !fi.IsDir() {
		return loadFile(path)
	}
	for _, k := range kustomizationFiles {
		if _, err := os.Stat(filepath.Join(path, k)); err == nil {
			return loadKustomization(path)
		}
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("read manifests: %w", err)
	}
	var objs []*unstructured.Unstructured
	for _, e := range entries { // ReadDir sorts by name
		if e.IsDir() {
			continue
		}
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".yaml", ".yml", ".json":
		default:
			continue
		}
		o, err := loadFile(filepath.Join(path, e.Name()))
		if err != nil {
			return nil, err
		}
		objs = append(objs, o...)
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("read manifests: no objects in %s (*.yaml, *.yml, *.json)", path)
	}
	return objs, nil
}

func loadFile(path string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read manifests: %w", err)
	}
	objs, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("read manifests %s: %w", path, err)
	}
	return objs, nil
}

func loadKustomization(dir string) ([]*unstructured.Unstructured, error) {
	rm, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("build kustomization %s: %w", dir, err)
	}
	data, err := rm.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("build kustomization %s: %w", dir, err)
	}
	objs, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("build kustomization %s: %w", dir, err)
	}
	return objs, nil
}

// decode splits YAML or JSON documents into objects.
func decode(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for i := 1; ; i++ {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(m) == 0 {
			continue // an empty document between two ---
		}
		u := &unstructured.Unstructured{Object: m}
		if u.IsList() {
			list, err := u.ToList()
			if err != nil {
				return nil, fmt.Errorf("document %d: %w", i, err)
			}
			for j := range list.Items {
				item := list.Items[j]
				if err := check(&item); err != nil {
					return nil, fmt.Errorf("document %d, item %d: %w", i, j+1, err)
				}
				objs = append(objs, &item)
			}
			continue
		}
		if err := check(u); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		objs = append(objs, u)
	}
	return objs, nil
}

func check(u *unstructured.Unstructured) error {
	switch {
	case u.GetAPIVersion() == "":
		return errors.New("object has no apiVersion")
	case u.GetKind() == "":
		return errors.New("object has no kind")
	case u.GetName() == "" && u.GetGenerateName() != "":
		return fmt.Errorf("%s with generateName %q: server-side apply needs metadata.name", u.GetKind(), u.GetGenerateName())
	case u.GetName() == "":
		return fmt.Errorf("%s has no metadata.name", u.GetKind())
	}
	return nil
}

// order puts namespaces first and CustomResourceDefinitions second, keeping
// the manifests' order otherwise, so that what others need exists first.
func order(objs []*unstructured.Unstructured) {
	rank := func(u *unstructured.Unstructured) int {
		switch u.GroupVersionKind().GroupKind().String() {
		case "Namespace":
			return 0
		case "CustomResourceDefinition.apiextensions.k8s.io":
			return 1
		}
		return 2
	}
	sort.SliceStable(objs, func(i, j int) bool { return rank(objs[i]) < rank(objs[j]) })
}
