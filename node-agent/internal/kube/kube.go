// Package kube lists the node's Pods from the API server (plain HTTPS REST with a bearer token or a client
// certificate) and indexes their containers by container id.
package kube

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Container is what a container cgroup is labelled with.
type Container struct {
	Namespace, Pod, Container, PodUID string
}

// Index maps a container id (without the "containerd://" style prefix) to its container.
type Index map[string]Container

type podList struct {
	Items []struct {
		Metadata struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
			UID       string `json:"uid"`
		} `json:"metadata"`
		Status struct {
			ContainerStatuses          []containerStatus `json:"containerStatuses"`
			InitContainerStatuses      []containerStatus `json:"initContainerStatuses"`
			EphemeralContainerStatuses []containerStatus `json:"ephemeralContainerStatuses"`
		} `json:"status"`
	} `json:"items"`
}

type containerStatus struct {
	Name        string `json:"name"`
	ContainerID string `json:"containerID"`
}

// StripRuntime turns "containerd://abc" into "abc".
func StripRuntime(id string) string {
	if i := strings.Index(id, "://"); i >= 0 {
		return id[i+3:]
	}
	return id
}

// ParsePodList indexes a PodList's containers (regular, init and ephemeral) by container id.
func ParsePodList(data []byte) (Index, int, error) {
	var pl podList
	if err := json.Unmarshal(data, &pl); err != nil {
		return nil, 0, fmt.Errorf("decoding PodList: %w", err)
	}
	idx := Index{}
	for _, p := range pl.Items {
		for _, group := range [][]containerStatus{p.Status.ContainerStatuses, p.Status.InitContainerStatuses, p.Status.EphemeralContainerStatuses} {
			for _, cs := range group {
				id := StripRuntime(cs.ContainerID)
				if id == "" {
					continue
				}
				idx[id] = Container{Namespace: p.Metadata.Namespace, Pod: p.Metadata.Name, Container: cs.Name, PodUID: p.Metadata.UID}
			}
		}
	}
	return idx, len(pl.Items), nil
}

// Source gives the node's PodList as JSON.
type Source interface {
	PodList(ctx context.Context) ([]byte, error)
	String() string
}

// FileSource reads a PodList from a JSON file (a test and debug aid).
type FileSource struct{ Path string }

func (f FileSource) PodList(context.Context) ([]byte, error) { return os.ReadFile(f.Path) }
func (f FileSource) String() string                          { return "file " + f.Path }

// APISource lists Pods with fieldSelector spec.nodeName=<node> and resourceVersion=0: the API server answers from its
// watch cache (through its spec.nodeName index) instead of reading every Pod of the cluster from etcd, at the cost
// of a list that may be a moment stale, which the next refresh corrects.
type APISource struct {
	Server string
	Node   string
	token  func() (string, error)
	client *http.Client
}

func (a *APISource) String() string { return "api " + a.Server }

func (a *APISource) PodList(ctx context.Context) ([]byte, error) {
	q := url.Values{"fieldSelector": {"spec.nodeName=" + a.Node}, "resourceVersion": {"0"}}
	u := strings.TrimSuffix(a.Server, "/") + "/api/v1/pods?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if a.token != nil {
		t, err := a.token()
		if err != nil {
			return nil, err
		}
		if t != "" {
			req.Header.Set("Authorization", "Bearer "+t)
		}
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		msg := strings.TrimSpace(string(body))
		if len(msg) > 200 {
			msg = msg[:200]
		}
		return nil, fmt.Errorf("GET %s: %s: %s", u, resp.Status, msg)
	}
	return body, nil
}

const saDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// InCluster uses the Pod's service account (token re-read on every request, as it rotates).
func InCluster(node string) (*APISource, error) {
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return nil, errors.New("not in a cluster (KUBERNETES_SERVICE_HOST/PORT unset) and no --kubeconfig given")
	}
	ca, err := os.ReadFile(filepath.Join(saDir, "ca.crt"))
	if err != nil {
		return nil, fmt.Errorf("service account CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, errors.New("service account CA: no certificate in ca.crt")
	}
	tokenPath := filepath.Join(saDir, "token")
	if _, err := os.Stat(tokenPath); err != nil {
		return nil, fmt.Errorf("service account token: %w", err)
	}
	return &APISource{
		Server: "https://" + net.JoinHostPort(host, port),
		Node:   node,
		token:  func() (string, error) { b, err := os.ReadFile(tokenPath); return strings.TrimSpace(string(b)), err },
		client: httpClient(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}),
	}, nil
}

func httpClient(tc *tls.Config) *http.Client {
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: tc, Proxy: http.ProxyFromEnvironment}}
}

type kubeconfig struct {
	CurrentContext string `yaml:"current-context"`
	Clusters       []struct {
		Name    string `yaml:"name"`
		Cluster struct {
			Server                   string `yaml:"server"`
			CertificateAuthority     string `yaml:"certificate-authority"`
			CertificateAuthorityData string `yaml:"certificate-authority-data"`
			InsecureSkipTLSVerify    bool   `yaml:"insecure-skip-tls-verify"`
		} `yaml:"cluster"`
	} `yaml:"clusters"`
	Contexts []struct {
		Name    string `yaml:"name"`
		Context struct {
			Cluster string `yaml:"cluster"`
			User    string `yaml:"user"`
		} `yaml:"context"`
	} `yaml:"contexts"`
	Users []struct {
		Name string `yaml:"name"`
		User struct {
			Token                 string `yaml:"token"`
			TokenFile             string `yaml:"tokenFile"`
			ClientCertificate     string `yaml:"client-certificate"`
			ClientCertificateData string `yaml:"client-certificate-data"`
			ClientKey             string `yaml:"client-key"`
			ClientKeyData         string `yaml:"client-key-data"`
		} `yaml:"user"`
	} `yaml:"users"`
}

// pemData returns inline base64 data or the content of a file (relative to the kubeconfig's directory).
func pemData(data, file, base string) ([]byte, error) {
	if data != "" {
		return base64.StdEncoding.DecodeString(data)
	}
	if file == "" {
		return nil, nil
	}
	if !filepath.IsAbs(file) {
		file = filepath.Join(base, file)
	}
	return os.ReadFile(file)
}

// FromKubeconfig uses the current context of a kubeconfig (token, token file or client certificate).
func FromKubeconfig(path, node string) (*APISource, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var kc kubeconfig
	if err := yaml.Unmarshal(raw, &kc); err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	base := filepath.Dir(path)
	ctxName := kc.CurrentContext
	var clusterName, userName string
	for _, c := range kc.Contexts {
		if c.Name == ctxName || (ctxName == "" && len(kc.Contexts) == 1) {
			clusterName, userName = c.Context.Cluster, c.Context.User
		}
	}
	if clusterName == "" {
		return nil, fmt.Errorf("kubeconfig %s: context %q not found", path, ctxName)
	}
	a := &APISource{Node: node}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	for _, c := range kc.Clusters {
		if c.Name != clusterName {
			continue
		}
		a.Server = c.Cluster.Server
		tc.InsecureSkipVerify = c.Cluster.InsecureSkipTLSVerify
		ca, err := pemData(c.Cluster.CertificateAuthorityData, c.Cluster.CertificateAuthority, base)
		if err != nil {
			return nil, fmt.Errorf("kubeconfig %s: CA: %w", path, err)
		}
		if ca != nil {
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(ca)
			tc.RootCAs = pool
		}
	}
	if a.Server == "" {
		return nil, fmt.Errorf("kubeconfig %s: cluster %q has no server", path, clusterName)
	}
	for _, u := range kc.Users {
		if u.Name != userName {
			continue
		}
		switch {
		case u.User.Token != "":
			t := u.User.Token
			a.token = func() (string, error) { return t, nil }
		case u.User.TokenFile != "":
			f := u.User.TokenFile
			a.token = func() (string, error) { b, err := os.ReadFile(f); return strings.TrimSpace(string(b)), err }
		}
		cert, err := pemData(u.User.ClientCertificateData, u.User.ClientCertificate, base)
		if err != nil {
			return nil, fmt.Errorf("kubeconfig %s: client certificate: %w", path, err)
		}
		key, err := pemData(u.User.ClientKeyData, u.User.ClientKey, base)
		if err != nil {
			return nil, fmt.Errorf("kubeconfig %s: client key: %w", path, err)
		}
		if cert != nil && key != nil {
			pair, err := tls.X509KeyPair(cert, key)
			if err != nil {
				return nil, fmt.Errorf("kubeconfig %s: client certificate: %w", path, err)
			}
			tc.Certificates = []tls.Certificate{pair}
		}
	}
	a.client = httpClient(tc)
	return a, nil
}
