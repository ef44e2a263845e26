// The Kubernetes manifests (examples/deploy/kubernetes): an edge DaemonSet with a Vault
// Agent sidecar whose token sink is the token edge reads.

package tests

import (
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl"
	"go.yaml.in/yaml/v3"
)

type k8sContainer struct {
	Name          string   `yaml:"name"`
	Image         string   `yaml:"image"`
	Args          []string `yaml:"args"`
	RestartPolicy string   `yaml:"restartPolicy"`
	EnvFrom       []struct {
		ConfigMapRef struct {
			Name string `yaml:"name"`
		} `yaml:"configMapRef"`
	} `yaml:"envFrom"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
			Add  []string `yaml:"add"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
}

type k8sDoc struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"`
	Spec struct {
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				ServiceAccountName string `yaml:"serviceAccountName"`
				TerminationGrace   int    `yaml:"terminationGracePeriodSeconds"`
				SecurityContext    struct {
					RunAsNonRoot bool `yaml:"runAsNonRoot"`
				} `yaml:"securityContext"`
				InitContainers []k8sContainer `yaml:"initContainers"`
				Containers     []k8sContainer `yaml:"containers"`
				Volumes        []struct {
					Name      string `yaml:"name"`
					ConfigMap *struct {
						Name string `yaml:"name"`
					} `yaml:"configMap"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

// k8sDocs decodes every YAML document of the files in dir, keyed by "Kind/name".
func k8sDocs(t testing.TB, dir string) map[string]k8sDoc {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) == 0 {
		t.Fatalf("no YAML in %s", dir)
	}
	docs := map[string]k8sDoc{}
	for _, f := range files {
		dec := yaml.NewDecoder(strings.NewReader(exReadFile(t, f)))
		for i := 0; ; i++ {
			var d k8sDoc
			err := dec.Decode(&d)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: document %d: %v", f, i+1, err)
			}
			if d.APIVersion == "" || d.Kind == "" || d.Metadata.Name == "" {
				t.Errorf("%s: document %d lacks apiVersion, kind or metadata.name", f, i+1)
			}
			docs[d.Kind+"/"+d.Metadata.Name] = d
		}
	}
	return docs
}

// mountedAt returns the volume of c mounted at a directory holding file p.
func mountedAt(c k8sContainer, p string) string {
	for _, m := range c.VolumeMounts {
		if strings.HasPrefix(p, strings.TrimSuffix(m.MountPath, "/")+"/") {
			return m.Name
		}
	}
	return ""
}

// hclBlock walks HCL decoded into map[string]any: each key must name exactly one block
// (labels are keys too: `method "kubernetes" {}` is method, then kubernetes).
func hclBlock(t testing.TB, m map[string]any, keys ...string) map[string]any {
	t.Helper()
	for i, k := range keys {
		bs, ok := m[k].([]map[string]any)
		if !ok || len(bs) != 1 {
			t.Fatalf("vault-agent.hcl: want one %s block; got %v", strings.Join(keys[:i+1], "."), m[k])
		}
		m = bs[0]
	}
	return m
}

func TestExampleKubernetes(t *testing.T) {
	root := exRepoRoot(t)
	docs := k8sDocs(t, filepath.Join(root, "examples", "deploy", "kubernetes"))
	ds, ok := docs["DaemonSet/edge"]
	if !ok {
		t.Fatalf("no DaemonSet edge; have %v", docs)
	}
	for k, d := range docs {
		if d.Kind != "Namespace" && d.Kind != "ClusterRoleBinding" && d.Metadata.Namespace != "edge" {
			t.Errorf("%s in namespace %q; want edge", k, d.Metadata.Namespace)
		}
	}
	containers := checkK8sPod(t, docs, ds)
	edge, agent := containers["edge"], containers["vault-agent"]
	if edge.Name == "" || agent.Name == "" {
		t.Fatalf("want containers edge and vault-agent; have %v", containers)
	}
	if agent.RestartPolicy != "Always" || !strings.HasPrefix(agent.Image, "hashicorp/vault:") || len(agent.Args) == 0 || agent.Args[0] != "agent" {
		t.Errorf("vault-agent: want a native sidecar (restartPolicy Always) running hashicorp/vault in agent mode; got %+v", agent)
	}
	edgeEnv := checkK8sEdgeEnv(t, docs, ds)
	checkK8sVaultAgent(t, docs, edge, agent, edgeEnv)
	t.Log("not checked here: a Vault Agent login, which needs a Kubernetes API server for TokenReview; see TestExampleKubernetesVaultSetup")
}

// checkK8sPod checks the DaemonSet's pod against the other documents (labels, service
// account, volumes, ConfigMaps) and its containers' hardening, and returns the containers
// (init containers too) by name.
func checkK8sPod(t testing.TB, docs map[string]k8sDoc, ds k8sDoc) map[string]k8sContainer {
	t.Helper()
	pod := ds.Spec.Template.Spec
	for k, v := range ds.Spec.Selector.MatchLabels {
		if ds.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("selector %s=%s does not match the pod labels %v", k, v, ds.Spec.Template.Metadata.Labels)
		}
	}
	if _, ok := docs["ServiceAccount/"+pod.ServiceAccountName]; !ok {
		t.Errorf("serviceAccountName %q is not declared", pod.ServiceAccountName)
	}
	if !pod.SecurityContext.RunAsNonRoot {
		t.Error("pod securityContext.runAsNonRoot is not true")
	}
	volumes := map[string]bool{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = true
		if v.ConfigMap != nil {
			if _, ok := docs["ConfigMap/"+v.ConfigMap.Name]; !ok {
				t.Errorf("volume %s: ConfigMap %s is not declared", v.Name, v.ConfigMap.Name)
			}
		}
	}
	containers := map[string]k8sContainer{}
	for _, c := range append(append([]k8sContainer(nil), pod.InitContainers...), pod.Containers...) {
		containers[c.Name] = c
		checkK8sContainer(t, docs, volumes, c)
	}
	return containers
}

// checkK8sContainer checks c runs a tagged image without privileges, and mounts and reads
// only declared volumes and ConfigMaps.
func checkK8sContainer(t testing.TB, docs map[string]k8sDoc, volumes map[string]bool, c k8sContainer) {
	t.Helper()
	if c.Image == "" || !strings.Contains(c.Image, ":") {
		t.Errorf("container %s: image %q; want a tagged image", c.Name, c.Image)
	}
	if c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation ||
		!exContains(c.SecurityContext.Capabilities.Drop, "ALL") || len(c.SecurityContext.Capabilities.Add) > 0 {
		t.Errorf("container %s: want allowPrivilegeEscalation false, capabilities drop ALL, add none", c.Name)
	}
	for _, m := range c.VolumeMounts {
		if !volumes[m.Name] {
			t.Errorf("container %s mounts undeclared volume %s", c.Name, m.Name)
		}
	}
	for _, e := range c.EnvFrom {
		if _, ok := docs["ConfigMap/"+e.ConfigMapRef.Name]; !ok {
			t.Errorf("container %s: envFrom ConfigMap %s is not declared", c.Name, e.ConfigMapRef.Name)
		}
	}
}

// checkK8sEdgeEnv checks the edge container's environment (ConfigMap edge-agent) names real
// agent variables and drains within the pod's grace period, and returns it.
func checkK8sEdgeEnv(t testing.TB, docs map[string]k8sDoc, ds k8sDoc) map[string]string {
	t.Helper()
	known := agentEnvNames(t)
	edgeEnv := docs["ConfigMap/edge-agent"].Data
	for k := range edgeEnv {
		if !known[k] {
			t.Errorf("ConfigMap edge-agent: %s is not a variable of edgectl agent", k)
		}
	}
	// The drain must end before Kubernetes kills the pod.
	grace := ds.Spec.Template.Spec.TerminationGrace
	if drain, err := time.ParseDuration(edgeEnv["EDGE_DRAIN_TIMEOUT"]); err != nil ||
		drain >= time.Duration(grace)*time.Second {
		t.Errorf("EDGE_DRAIN_TIMEOUT %q (%v); want a duration below terminationGracePeriodSeconds %d",
			edgeEnv["EDGE_DRAIN_TIMEOUT"], err, grace)
	}
	return edgeEnv
}

// checkK8sVaultAgent checks Vault Agent's config: Kubernetes auth with the role
// vault-setup.sh makes, and a sink file that is the token edge reads.
func checkK8sVaultAgent(t testing.TB, docs map[string]k8sDoc, edge, agent k8sContainer, edgeEnv map[string]string) {
	t.Helper()
	hclSrc := docs["ConfigMap/edge-vault-agent"].Data["vault-agent.hcl"]
	if !strings.Contains(exContainsArg(agent.Args, "-config="), "vault-agent.hcl") {
		t.Errorf("vault-agent args %q do not load vault-agent.hcl", agent.Args)
	}
	var cfg map[string]any
	if err := hcl.Decode(&cfg, hclSrc); err != nil {
		t.Fatalf("vault-agent.hcl: %v", err)
	}
	if methods := hclBlock(t, cfg, "auto_auth", "method"); len(methods) != 1 {
		t.Errorf("vault-agent.hcl: want one auth method; got %v", methods)
	}
	k8s := hclBlock(t, cfg, "auto_auth", "method", "kubernetes")
	mcfg := hclBlock(t, k8s, "config")
	if k8s["mount_path"] != "auth/kubernetes" || mcfg["role"] != "edge" {
		t.Errorf("kubernetes method: mount_path %v role %v; want auth/kubernetes and edge (vault-setup.sh)", k8s["mount_path"], mcfg["role"])
	}
	if tp, _ := mcfg["token_path"].(string); mountedAt(agent, tp) != "vault-sa-token" {
		t.Errorf("token_path %q is not in the projected service-account token volume of vault-agent", tp)
	}
	if sinks := hclBlock(t, cfg, "auto_auth", "sink"); len(sinks) != 1 {
		t.Errorf("vault-agent.hcl: want one sink; got %v", sinks)
	}
	sinkCfg := hclBlock(t, cfg, "auto_auth", "sink", "file", "config")
	sinkPath, _ := sinkCfg["path"].(string)
	if got := exContainsArg(edge.Args, "--vault-token-file="); got != sinkPath {
		t.Errorf("edge --vault-token-file=%q; want the sink %q", got, sinkPath)
	}
	if edgeEnv["VAULT_TOKEN_FILE"] != sinkPath {
		t.Errorf("edge-agent VAULT_TOKEN_FILE=%q; want the sink %q", edgeEnv["VAULT_TOKEN_FILE"], sinkPath)
	}
	if v := mountedAt(agent, sinkPath); v == "" || v != mountedAt(edge, sinkPath) {
		t.Errorf("sink %s: vault-agent writes it on volume %q, edge reads volume %q; want one shared volume", sinkPath, v, mountedAt(edge, sinkPath))
	}
}
