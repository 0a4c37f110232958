output "load_balancer_ipv4" {
  description = "Public IPv4 of each region's load balancer, by region. DNS records @, *, console, api, gitea, harbor point at the primary region's."
  value       = { for k, lb in hcloud_load_balancer.this : k => lb.ipv4 }
}

output "primary_load_balancer_ipv4" {
  description = "Public IPv4 of the primary region's load balancer."
  value       = hcloud_load_balancer.this[var.region].ipv4
}

output "control_plane_ipv4" {
  description = "Public IPv4 addresses of the control-plane servers, by region (cp1 first)."
  value = {
    for k in keys(local.by_region) : k => [
      for key, cp in local.control_planes : hcloud_server.node[key].ipv4_address if cp.region == k
    ]
  }
}

output "network_id" {
  description = "ID of each region's private network, by region."
  value       = { for k, n in hcloud_network.this : k => n.id }
}

output "cluster_names" {
  description = "Cluster name of each region, by region."
  value       = { for k, r in local.by_region : k => r.cluster_name }
}
