package target

import "strings"

const (
	edgeClusterPrefix = "mboxedge"
	targetHostSuffix  = "tt.omtrdc.net"
)

// ClusterFromTntID returns the edge cluster encoded in a Target visitor id of
// the form "{uuid}.{cluster}_{node}" (for example "338e3c1e.35_0" → "35"), or
// "" when id does not have that form.
func ClusterFromTntID(id string) string {
	_, nodeDetails, ok := strings.Cut(id, ".")
	if !ok || nodeDetails == "" || strings.Contains(nodeDetails, ".") {
		return ""
	}
	cluster, node, ok := strings.Cut(nodeDetails, "_")
	if !ok || cluster == "" || strings.Contains(node, "_") {
		return ""
	}
	return cluster
}

// clusterFromEdgeHost returns the cluster of an edge host name such as
// "mboxedge35.tt.omtrdc.net" ("35"), or "" when host is not a four-label
// edge host name or its cluster cannot be part of a host name (the cluster
// routes the client's later calls).
func clusterFromEdgeHost(host string) string {
	if strings.Count(host, ".") != 3 {
		return ""
	}
	first, _, _ := strings.Cut(host, ".")
	cluster := strings.Replace(first, edgeClusterPrefix, "", 1)
	if !validCluster(cluster) {
		return ""
	}
	return cluster
}

// routedHost is a cluster ("" for none) and the host of its calls.
type routedHost struct{ cluster, host string }

// hostOf is targetHost for the client's configuration, remembered for the
// last cluster asked for.
func (c *Client) hostOf(cluster string) string {
	if last := c.lastHost.Load(); last != nil && last.cluster == cluster {
		return last.host
	}
	host := targetHost(c.cfg.serverDomain, cluster, c.cfg.clientCode)
	c.lastHost.Store(&routedHost{cluster: cluster, host: host})
	return host
}

// targetHost picks the host a request goes to, in the SDKs' order: the edge
// cluster host when a cluster is known, else the configured server domain,
// else the client's own Target host.
func targetHost(serverDomain, cluster, clientCode string) string {
	if cluster != "" {
		return edgeClusterPrefix + cluster + "." + targetHostSuffix
	}
	if serverDomain != "" {
		return serverDomain
	}
	return clientCode + "." + targetHostSuffix
}
