package deploy_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	kusttypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/mlmon/mlmon/internal/config"
)

const (
	k8sDir       = "kubernetes"
	k8sNamespace = "monitoring"
	// Files of the directory that the kustomization leaves out on purpose.
	secretExample = "secret.example.yaml"
	// The copy of the dashboards ConfigMap, when dashboards/ generates one.
	dashboardsCopy   = "grafana-dashboards.yaml"
	dashboardsSource = "dashboards/kubernetes/configmap.yaml"
)

// object is a decoded manifest document.
type object struct {
	source string // file, or "kustomize build"
	kind   string
	meta   metav1.Object
	value  any
}

// newTyped returns the Go type of a manifest kind. A kind this base does
// not expect is an error: everything it ships is checked.
func newTyped(apiVersion, kind string) (any, error) {
	switch apiVersion + " " + kind {
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, nil
	case "v1 Service":
		return &corev1.Service{}, nil
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1 Secret":
		return &corev1.Secret{}, nil
	case "v1 ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "networking.k8s.io/v1 NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, nil
	case "monitoring.coreos.com/v1 ServiceMonitor":
		return &monitoringv1.ServiceMonitor{}, nil
	case "monitoring.coreos.com/v1 PrometheusRule":
		return &monitoringv1.PrometheusRule{}, nil
	}
	return nil, fmt.Errorf("unexpected kind %s %s", apiVersion, kind)
}

// decodeStrict decodes every document of a multi-document YAML stream into
// its Kubernetes Go type, rejecting unknown and duplicate fields (what
// `kubectl apply --validate=strict` rejects too): a misspelt securityContext
// key would otherwise be dropped silently and the pod would run without it.
func decodeStrict(data []byte, source string) ([]object, error) {
	var out []object
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		var tm metav1.TypeMeta
		if err := sigsyaml.Unmarshal(doc, &tm); err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		if tm.Kind == "" && len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue // an empty document
		}
		v, err := newTyped(tm.APIVersion, tm.Kind)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		if err := sigsyaml.UnmarshalStrict(doc, v); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", source, tm.Kind, err)
		}
		out = append(out, object{source: source, kind: tm.Kind, meta: v.(metav1.Object), value: v})
	}
}

func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for _, l := range strings.Split(string(doc), "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") && t != "---" {
			b.WriteString(l + "\n")
		}
	}
	return b.Bytes()
}

func TestStrictDecodingRejectsUnknownFields(t *testing.T) {
	// The checks below rely on this: a typo is an error, not a no-op.
	doc := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      securityContex: {runAsNonRoot: true}\n"
	if _, err := decodeStrict([]byte(doc), "typo"); err == nil || !strings.Contains(err.Error(), "securityContex") {
		t.Fatalf("a misspelt field decoded without error: %v", err)
	}
}

func loadKustomization(t *testing.T) *kusttypes.Kustomization {
	t.Helper()
	var k kusttypes.Kustomization
	data := readFile(t, filepath.Join(k8sDir, "kustomization.yaml"))
	if err := sigsyaml.UnmarshalStrict(data, &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	return &k
}

// TestKustomizationListsEveryManifest: every file of the directory is a
// resource or a generator input of the kustomization, or one of the files
// it leaves out on purpose; and every file it names exists.
func TestKustomizationListsEveryManifest(t *testing.T) {
	k := loadKustomization(t)
	listed := map[string]string{} // file → how the kustomization uses it
	for _, r := range k.Resources {
		listed[r] = "resource"
	}
	for _, g := range k.ConfigMapGenerator {
		for _, f := range g.FileSources {
			_, path, _ := strings.Cut(f, "=") // key=path or path
			if path == "" {
				path = f
			}
			listed[path] = "configMapGenerator " + g.Name
		}
	}
	if len(k.SecretGenerator) > 0 {
		t.Error("the kustomization generates a Secret: its data would have to be in this directory, i.e. in Git")
	}
	for f := range listed {
		if strings.Contains(f, "/") || strings.HasPrefix(f, "..") {
			t.Errorf("%s is outside the base directory (kustomize's load restrictor rejects it)", f)
		}
		if _, err := os.Stat(filepath.Join(k8sDir, f)); err != nil {
			t.Errorf("the kustomization lists %s: %v", f, err)
		}
	}
	entries, err := os.ReadDir(k8sDir)
	must(t, err, "read %s", k8sDir)
	for _, e := range entries {
		name := e.Name()
		switch {
		case e.IsDir():
			t.Errorf("%s/%s: a directory the kustomization does not use", k8sDir, name)
		case name == "kustomization.yaml" || name == secretExample:
		case listed[name] == "":
			t.Errorf("%s/%s is not listed in kustomization.yaml (resources or configMapGenerator)", k8sDir, name)
		}
	}
	if listed[secretExample] != "" {
		t.Errorf("%s must stay out of the kustomization: applying it would overwrite the real password with an empty one", secretExample)
	}
}

// TestManifestFilesDecodeStrictly decodes every manifest file as written,
// including the example Secret that the kustomization leaves out.
func TestManifestFilesDecodeStrictly(t *testing.T) {
	k := loadKustomization(t)
	for _, f := range append(slices.Clone(k.Resources), secretExample) {
		objs, err := decodeStrict(readFile(t, filepath.Join(k8sDir, f)), f)
		if err != nil {
			t.Error(err)
			continue
		}
		if len(objs) == 0 {
			t.Errorf("%s holds no object", f)
		}
	}
}

// build renders the kustomization with kustomize's own Go API (what
// `kubectl apply -k` runs), with the default load restrictor, and decodes
// the result strictly.
func build(t *testing.T) []object {
	t.Helper()
	dir, err := filepath.Abs(k8sDir)
	must(t, err, "abs")
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	must(t, err, "kustomize build %s", k8sDir)
	out, err := res.AsYaml()
	must(t, err, "kustomize output")
	objs, err := decodeStrict(out, "kustomize build")
	must(t, err, "decode the rendered base")
	return objs
}

// rendered indexes the rendered objects; exactly one of each kind is
// expected except where noted.
type rendered struct {
	all            []object
	deployment     *appsv1.Deployment
	service        *corev1.Service
	serviceAccount *corev1.ServiceAccount
	serviceMonitor *monitoringv1.ServiceMonitor
	networkPolicy  *networkingv1.NetworkPolicy
	rule           *monitoringv1.PrometheusRule
	configMaps     map[string]*corev1.ConfigMap
}

func render(t *testing.T) *rendered {
	t.Helper()
	r := &rendered{all: build(t), configMaps: map[string]*corev1.ConfigMap{}}
	for _, o := range r.all {
		switch v := o.value.(type) {
		case *appsv1.Deployment:
			setOnce(t, &r.deployment, v)
		case *corev1.Service:
			setOnce(t, &r.service, v)
		case *corev1.ServiceAccount:
			setOnce(t, &r.serviceAccount, v)
		case *monitoringv1.ServiceMonitor:
			setOnce(t, &r.serviceMonitor, v)
		case *networkingv1.NetworkPolicy:
			setOnce(t, &r.networkPolicy, v)
		case *monitoringv1.PrometheusRule:
			setOnce(t, &r.rule, v)
		case *corev1.ConfigMap:
			r.configMaps[v.Name] = v
		case *corev1.Secret:
			t.Errorf("the rendered base contains Secret %s: the password must not come from Git", v.Name)
		}
	}
	if r.deployment == nil || r.service == nil || r.serviceAccount == nil || r.serviceMonitor == nil || r.networkPolicy == nil || r.rule == nil {
		t.Fatalf("the rendered base lacks an object: deployment %v, service %v, serviceaccount %v, servicemonitor %v, networkpolicy %v, prometheusrule %v",
			r.deployment != nil, r.service != nil, r.serviceAccount != nil, r.serviceMonitor != nil, r.networkPolicy != nil, r.rule != nil)
	}
	return r
}

func setOnce[T any](t *testing.T, dst **T, v *T) {
	t.Helper()
	if *dst != nil {
		t.Errorf("the rendered base has more than one %T", v)
	}
	*dst = v
}

func TestRenderedLabelsAndNamespace(t *testing.T) {
	r := render(t)
	for _, o := range r.all {
		l := o.meta.GetLabels()
		if l["app.kubernetes.io/name"] != "mlmon" || l["app.kubernetes.io/part-of"] != "mlmon" {
			t.Errorf("%s %s: labels %v lack app.kubernetes.io/name and part-of mlmon", o.kind, o.meta.GetName(), l)
		}
		if o.meta.GetNamespace() != k8sNamespace {
			t.Errorf("%s %s: namespace %q, want %q", o.kind, o.meta.GetName(), o.meta.GetNamespace(), k8sNamespace)
		}
	}
}

func exporterContainer(t *testing.T, d *appsv1.Deployment) *corev1.Container {
	t.Helper()
	cs := d.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("want exactly one container, have %d", len(cs))
	}
	if len(d.Spec.Template.Spec.InitContainers) > 0 {
		t.Error("unexpected init containers (they would need the same security settings)")
	}
	return &cs[0]
}

func TestDeploymentSecurity(t *testing.T) {
	r := render(t)
	d := r.deployment
	pod := d.Spec.Template.Spec
	c := exporterContainer(t, d)

	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Error("pod securityContext.runAsNonRoot is not true")
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("pod seccompProfile is not RuntimeDefault")
	}
	// The pod's user is the image's: the Dockerfile's USER.
	uid := nonRootUser(t, loadDockerfile(t).stage("exporter"))
	if psc == nil || psc.RunAsUser == nil || *psc.RunAsUser != int64(uid) {
		t.Errorf("pod runAsUser is not the image's user %d", uid)
	}

	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Fatal("container has no securityContext")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Error("allowPrivilegeEscalation is not false")
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Error("readOnlyRootFilesystem is not true")
	case sc.Privileged != nil && *sc.Privileged:
		t.Error("privileged")
	case sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0:
		t.Errorf("capabilities %+v: want drop [ALL] and nothing added", sc.Capabilities)
	}

	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("the pod mounts a service account token; the exporter never calls the API")
	}
	sa := r.serviceAccount
	if pod.ServiceAccountName != sa.Name {
		t.Errorf("pod serviceAccountName %q, the base's ServiceAccount is %q", pod.ServiceAccountName, sa.Name)
	}
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Error("ServiceAccount automountServiceAccountToken is not false")
	}

	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, hasReq := c.Resources.Requests[res]
		lim, hasLim := c.Resources.Limits[res]
		if !hasReq || !hasLim {
			t.Errorf("%s: request and limit are both required", res)
			continue
		}
		if req.Cmp(lim) > 0 {
			t.Errorf("%s request %s above the limit %s", res, req.String(), lim.String())
		}
	}

	image := c.Image
	if _, tag, ok := strings.Cut(image[strings.LastIndex(image, "/")+1:], ":"); !ok || tag == "" || tag == "latest" {
		t.Errorf("image %s: pin a version tag", image)
	}
	if *d.Spec.Replicas != 1 {
		t.Errorf("%d replicas: each would be a separate scrape target querying ClickHouse", *d.Spec.Replicas)
	}
}

func TestDeploymentProbesPortsAndArgs(t *testing.T) {
	r := render(t)
	c := exporterContainer(t, r.deployment)
	if len(c.Command) > 0 {
		t.Errorf("command %v replaces the image's entrypoint and its --config.file", c.Command)
	}
	checkArgs(t, binary(t, "exporter"), c.Args, "Deployment args")
	listen := ":9786"
	if v, ok := flagValue(c.Args, "web.listen-address"); ok {
		listen = v
	}
	metricsPort := containerPort(c, "metrics")
	if metricsPort == 0 || ":"+fmt.Sprint(metricsPort) != listen {
		t.Errorf("containerPort metrics = %d, the exporter listens on %s", metricsPort, listen)
	}

	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"liveness", c.LivenessProbe, "/-/healthy"}, {"readiness", c.ReadinessProbe, "/-/ready"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("no %s httpGet probe", p.name)
			continue
		}
		if p.probe.HTTPGet.Path != p.path {
			t.Errorf("%s probe path %s, want %s", p.name, p.probe.HTTPGet.Path, p.path)
		}
		if port := resolvePort(c, p.probe.HTTPGet.Port); port != metricsPort {
			t.Errorf("%s probe port %s is not the exporter's port", p.name, p.probe.HTTPGet.Port.String())
		}
	}
}

func containerPort(c *corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

func resolvePort(c *corev1.Container, p intstr.IntOrString) int32 {
	if p.Type == intstr.String {
		return containerPort(c, p.StrVal)
	}
	return p.IntVal
}

// TestDeploymentConfigAndSecret: the configuration comes from the
// generated ConfigMap, mounted where the image reads it, is valid for
// mlmon, and has no password; the password comes from a Secret through
// the environment variable mlmon reads.
func TestDeploymentConfigAndSecret(t *testing.T) {
	r := render(t)
	pod := r.deployment.Spec.Template.Spec
	c := exporterContainer(t, r.deployment)

	configDir, configFile := filepath.Split(imageConfigFile)
	var volume string
	for _, m := range c.VolumeMounts {
		if filepath.Clean(m.MountPath) == filepath.Clean(configDir) {
			volume = m.Name
			if !m.ReadOnly {
				t.Error("the config volume is mounted read-write")
			}
		}
	}
	if volume == "" {
		t.Fatalf("nothing is mounted at %s, where the image's entrypoint reads %s", configDir, imageConfigFile)
	}
	var cmName string
	for _, v := range pod.Volumes {
		if v.Name == volume && v.ConfigMap != nil {
			cmName = v.ConfigMap.Name
		}
	}
	cm := r.configMaps[cmName]
	if cm == nil {
		t.Fatalf("volume %s names ConfigMap %q, which the base does not render (have %v)", volume, cmName, keys(r.configMaps))
	}
	data, ok := cm.Data[configFile]
	if !ok {
		t.Fatalf("ConfigMap %s has no %s", cmName, configFile)
	}
	if src := string(readFile(t, filepath.Join(k8sDir, "mlmon.yml"))); data != src {
		t.Error("the rendered ConfigMap differs from kubernetes/mlmon.yml")
	}
	cfg, err := config.Parse([]byte(data), config.WithLookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatalf("the ConfigMap's %s fails mlmon's validation: %v", configFile, err)
	}
	if cfg.ClickHouse.PasswordFile != "" {
		t.Errorf("password_file %s: the password comes from the Secret through %s", cfg.ClickHouse.PasswordFile, config.PasswordEnv)
	}
	noPasswordKeys(t, []byte(data))

	var ref *corev1.SecretKeySelector
	for _, e := range c.Env {
		if e.Name == config.PasswordEnv {
			if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				t.Fatalf("%s must come from a secretKeyRef", e.Name)
			}
			ref = e.ValueFrom.SecretKeyRef
		} else if strings.Contains(strings.ToLower(e.Name), "password") && e.Value != "" {
			t.Errorf("env %s holds a literal value", e.Name)
		}
	}
	if ref == nil {
		t.Fatalf("no env %s: the exporter would connect without a password", config.PasswordEnv)
	}
	if ref.Optional != nil && *ref.Optional {
		t.Error("the password secretKeyRef is optional: a missing Secret would start an exporter without a password")
	}
	for _, p := range c.EnvFrom {
		if p.ConfigMapRef != nil {
			t.Errorf("envFrom ConfigMap %s: nothing secret may come from a ConfigMap", p.ConfigMapRef.Name)
		}
	}

	// The example Secret has the name and key the Deployment reads, and no
	// password in it.
	objs, err := decodeStrict(readFile(t, filepath.Join(k8sDir, secretExample)), secretExample)
	must(t, err, "decode")
	if len(objs) != 1 {
		t.Fatalf("%s: want one Secret", secretExample)
	}
	s := objs[0].value.(*corev1.Secret)
	if s.Name != ref.Name {
		t.Errorf("%s is named %s, the Deployment reads %s", secretExample, s.Name, ref.Name)
	}
	v, ok := s.StringData[ref.Key]
	if !ok {
		t.Errorf("%s has no key %s", secretExample, ref.Key)
	}
	if v != "" || len(s.Data) > 0 {
		t.Errorf("%s holds a value: it is an example and is committed", secretExample)
	}
}

// noPasswordKeys fails for any mapping key that mentions a password, at any
// depth: mlmon.yml has none besides password_file, which is not used here.
func noPasswordKeys(t *testing.T, data []byte) {
	t.Helper()
	var root yaml.Node
	must(t, yaml.Unmarshal(data, &root), "parse")
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if k := n.Content[i].Value; strings.Contains(strings.ToLower(k), "password") {
					t.Errorf("line %d: key %s in the ConfigMap", n.Content[i].Line, k)
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&root)
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func selects(t *testing.T, sel map[string]string, target map[string]string, what string) {
	t.Helper()
	if len(sel) == 0 {
		t.Errorf("%s: empty selector selects everything", what)
		return
	}
	if !labels.SelectorFromSet(sel).Matches(labels.Set(target)) {
		t.Errorf("%s: selector %v does not match labels %v", what, sel, target)
	}
}

func TestServiceAndServiceMonitor(t *testing.T) {
	r := render(t)
	d, svc, sm := r.deployment, r.service, r.serviceMonitor
	podLabels := d.Spec.Template.Labels
	selects(t, d.Spec.Selector.MatchLabels, podLabels, "Deployment selector")
	selects(t, svc.Spec.Selector, podLabels, "Service selector")

	c := exporterContainer(t, d)
	var svcPort *corev1.ServicePort
	for i, p := range svc.Spec.Ports {
		if p.Name == "metrics" {
			svcPort = &svc.Spec.Ports[i]
		}
	}
	if svcPort == nil || svcPort.Port != 9786 {
		t.Fatalf("Service has no port 9786 named metrics: %+v", svc.Spec.Ports)
	}
	if resolvePort(c, svcPort.TargetPort) != 9786 {
		t.Errorf("Service targetPort %s is not the container's 9786", svcPort.TargetPort.String())
	}

	// Prometheus Operator names the scrape job after the Service (unless
	// jobLabel says otherwise), and MLMonExporterDown matches that job.
	if sm.Spec.JobLabel != "" {
		t.Errorf("jobLabel %s: the job name would come from a label, not the Service name the rules expect", sm.Spec.JobLabel)
	}
	if re := exporterDownJobRegex(t); !re.MatchString(svc.Name) {
		t.Errorf("the scrape job will be %q, which MLMonExporterDown's selector %s does not match", svc.Name, re)
	}

	selects(t, sm.Spec.Selector.MatchLabels, svc.Labels, "ServiceMonitor selector")
	if len(sm.Spec.Selector.MatchExpressions) > 0 {
		t.Error("ServiceMonitor matchExpressions are not checked here; use matchLabels")
	}
	if ns := sm.Spec.NamespaceSelector; ns.Any || (len(ns.MatchNames) > 0 && !slices.Contains(ns.MatchNames, k8sNamespace)) {
		t.Errorf("ServiceMonitor namespaceSelector %+v reaches beyond the exporter's namespace", ns)
	}
	if len(sm.Spec.Endpoints) != 1 {
		t.Fatalf("want one endpoint, have %d", len(sm.Spec.Endpoints))
	}
	ep := sm.Spec.Endpoints[0]
	if ep.Port != svcPort.Name {
		t.Errorf("ServiceMonitor port %q is not the Service's port %q", ep.Port, svcPort.Name)
	}
	path := "/metrics"
	if v, ok := flagValue(c.Args, "web.telemetry-path"); ok {
		path = v
	}
	if ep.Path != "" && ep.Path != path {
		t.Errorf("ServiceMonitor path %s, the exporter serves %s", ep.Path, path)
	}
	if ep.Interval == "" || ep.ScrapeTimeout == "" {
		t.Fatal("set interval and scrapeTimeout explicitly: the exporter's query deadline follows the timeout")
	}
	interval, err := model.ParseDuration(string(ep.Interval))
	must(t, err, "interval")
	timeout, err := model.ParseDuration(string(ep.ScrapeTimeout))
	must(t, err, "scrapeTimeout")
	if timeout >= interval {
		t.Errorf("scrapeTimeout %s is not below the interval %s (Prometheus rejects it)", ep.ScrapeTimeout, ep.Interval)
	}
}

func TestNetworkPolicy(t *testing.T) {
	r := render(t)
	np := r.networkPolicy
	selects(t, np.Spec.PodSelector.MatchLabels, r.deployment.Spec.Template.Labels, "NetworkPolicy podSelector")
	types := np.Spec.PolicyTypes
	if !slices.Contains(types, networkingv1.PolicyTypeIngress) || !slices.Contains(types, networkingv1.PolicyTypeEgress) {
		t.Errorf("policyTypes %v: want both Ingress and Egress", types)
	}
	c := exporterContainer(t, r.deployment)

	if len(np.Spec.Ingress) == 0 {
		t.Error("no ingress rule: Prometheus could not scrape")
	}
	for i, rule := range np.Spec.Ingress {
		if len(rule.Ports) == 0 {
			t.Errorf("ingress[%d] allows every port", i)
		}
		for _, p := range rule.Ports {
			if p.Port == nil || resolvePort(c, *p.Port) != 9786 || (p.Protocol != nil && *p.Protocol != corev1.ProtocolTCP) {
				t.Errorf("ingress[%d] port %v: only TCP 9786", i, p.Port)
			}
		}
		if len(rule.From) == 0 {
			t.Errorf("ingress[%d] admits every source", i)
		}
		for j, peer := range rule.From {
			if peer.IPBlock != nil || peer.NamespaceSelector == nil || peer.PodSelector == nil ||
				len(peer.NamespaceSelector.MatchLabels) == 0 || len(peer.PodSelector.MatchLabels) == 0 {
				t.Errorf("ingress[%d].from[%d]: want Prometheus pods by namespace and pod labels together", i, j)
			}
		}
	}

	allowed := map[string]bool{"TCP/9000": true, "TCP/9440": true, "UDP/53": true, "TCP/53": true}
	seen := map[string]bool{}
	for i, rule := range np.Spec.Egress {
		if len(rule.Ports) == 0 {
			t.Errorf("egress[%d] allows every port", i)
		}
		for _, p := range rule.Ports {
			proto := corev1.ProtocolTCP
			if p.Protocol != nil {
				proto = *p.Protocol
			}
			key := fmt.Sprintf("%s/%s", proto, p.Port.String())
			if p.Port == nil || p.EndPort != nil || !allowed[key] {
				t.Errorf("egress[%d] allows %s: only ClickHouse (9000, 9440) and DNS (53)", i, key)
			}
			seen[key] = true
		}
	}
	for k := range allowed {
		if !seen[k] {
			t.Errorf("egress does not allow %s", k)
		}
	}
}

// TestPrometheusRuleUpToDate: the base's PrometheusRule is a copy of the
// generated rules/prometheusrule.yaml, because kustomize does not read files
// outside the base. Regenerate the rules, then copy.
func TestPrometheusRuleUpToDate(t *testing.T) {
	src := readFile(t, filepath.Join(repoRoot(t), "rules", "prometheusrule.yaml"))
	dst := readFile(t, filepath.Join(k8sDir, "prometheusrule.yaml"))
	if !bytes.Equal(src, dst) {
		t.Error("deploy/kubernetes/prometheusrule.yaml is stale: cp rules/prometheusrule.yaml deploy/kubernetes/")
	}
	r := render(t)
	if len(r.rule.Spec.Groups) == 0 {
		t.Error("the PrometheusRule has no groups")
	}
}

// TestGrafanaDashboardsUpToDate: the same for the dashboards ConfigMap,
// generated under dashboards/. Until dashboards/ generates it there is
// nothing to copy; from then on the copy must exist and be current.
func TestGrafanaDashboardsUpToDate(t *testing.T) {
	src, srcErr := os.ReadFile(filepath.Join(repoRoot(t), dashboardsSource))
	dst, dstErr := os.ReadFile(filepath.Join(k8sDir, dashboardsCopy))
	switch {
	case srcErr != nil && dstErr != nil:
		t.Logf("%s does not exist yet, so the base has no dashboards ConfigMap", dashboardsSource)
	case srcErr != nil:
		t.Errorf("deploy/kubernetes/%s exists but %s does not: remove the stale copy", dashboardsCopy, dashboardsSource)
	case dstErr != nil:
		t.Errorf("%s exists: cp %s deploy/kubernetes/%s and list it in kustomization.yaml", dashboardsSource, dashboardsSource, dashboardsCopy)
	case !bytes.Equal(src, dst):
		t.Errorf("deploy/kubernetes/%s is stale: cp %s deploy/kubernetes/%s", dashboardsCopy, dashboardsSource, dashboardsCopy)
	}
}
