# Phase 0 of a Sovereign on Hetzner Cloud: per region a private network, a
# firewall, control-plane and worker servers running k3s, and a load
# balancer in front of the ingress NodePorts. cloud-init on the first
# control plane of each region writes the bootstrap Secrets and ConfigMap
# and starts Flux; everything after that is GitOps.

locals {
  fqdn_dashed = replace(var.sovereign_fqdn, ".", "-")
  base_labels = { "catalyst.openova.io/sovereign" = local.fqdn_dashed }

  # Flux release applied by cloud-init: the version matrix's (catalog.yaml
  # spec.runtime), which bp-flux's flux2 chart then takes over with.
  # `catalyst validate` refuses a catalog where the three disagree.
  flux_version = "v2.9.0"
  # Bootstrap CNI: k3s runs without flannel and kube-proxy (bp-cilium's
  # assumptions), so Cilium must exist before any pod, Flux included, can
  # start. bp-cilium later upgrades this same `cilium` release.
  cilium_version = "1.16.5"

  network_zones = {
    fsn1 = "eu-central"
    nbg1 = "eu-central"
    hel1 = "eu-central"
    ash  = "us-east"
    hil  = "us-west"
  }

  subnet_cidr = "10.0.1.0/24"
  lb_ip       = "10.0.1.2"
  # Fixed private addresses so joins and the LB never depend on creation
  # order: control planes .10-.12, workers .101-.150.
  cp_ip_base     = 10
  worker_ip_base = 100

  regions = concat(
    [{
      region             = var.region
      primary            = true
      prefix             = "catalyst-${local.fqdn_dashed}"
      cluster_name       = var.cluster_name
      control_plane_size = var.control_plane_size
      worker_size        = var.worker_size
      worker_count       = var.worker_count
      ha_enabled         = var.ha_enabled
      gitops_path        = var.gitops_path
    }],
    [for r in var.secondary_regions : {
      region             = r.region
      primary            = false
      prefix             = "catalyst-${local.fqdn_dashed}-${r.region}"
      cluster_name       = r.cluster_name
      control_plane_size = r.control_plane_size
      worker_size        = r.worker_size
      worker_count       = r.worker_count
      ha_enabled         = r.ha_enabled
      gitops_path        = r.gitops_path
    }],
  )
  by_region = { for r in local.regions : r.region => r }

  region_labels = {
    for k, r in local.by_region : k => merge(local.base_labels, {
      "catalyst.openova.io/region"  = k
      "catalyst.openova.io/cluster" = r.cluster_name
    })
  }

  control_planes = merge([
    for k, r in local.by_region : {
      for i in range(r.ha_enabled ? 3 : 1) : "${k}/cp${i + 1}" => {
        region = k
        index  = i
        name   = "${r.prefix}-cp${i + 1}"
        size   = r.control_plane_size
        ip     = cidrhost(local.subnet_cidr, local.cp_ip_base + i)
        role   = "control-plane"
      }
    }
  ]...)

  workers = merge([
    for k, r in local.by_region : {
      for i in range(r.worker_count) : "${k}/w${i + 1}" => {
        region = k
        index  = i
        name   = "${r.prefix}-w${i + 1}"
        size   = r.worker_size
        ip     = cidrhost(local.subnet_cidr, local.worker_ip_base + i + 1)
        role   = "worker"
      }
    }
  ]...)

  first_cp_ip = cidrhost(local.subnet_cidr, local.cp_ip_base)

  source_kind = startswith(var.gitops_repo_url, "oci://") ? "OCIRepository" : "GitRepository"
}

# --- Per Sovereign ------------------------------------------------------------

# SSH keys are unique per Hetzner project by fingerprint, so the Sovereign
# has one, shared by its regions.
resource "hcloud_ssh_key" "this" {
  name       = "catalyst-${local.fqdn_dashed}-ssh"
  public_key = var.ssh_public_key
  labels     = local.base_labels
}

# --- Per region ---------------------------------------------------------------

resource "random_password" "k3s_token" {
  for_each = local.by_region
  length   = 48
  special  = false
}

resource "hcloud_network" "this" {
  for_each = local.by_region
  name     = "${each.value.prefix}-net"
  ip_range = "10.0.0.0/16"
  labels   = local.region_labels[each.key]
}

resource "hcloud_network_subnet" "this" {
  for_each     = local.by_region
  network_id   = hcloud_network.this[each.key].id
  type         = "cloud"
  network_zone = local.network_zones[each.key]
  ip_range     = local.subnet_cidr
}

# Public inbound is closed except ICMP. Hetzner firewalls do not filter
# private-network traffic; the private-range rules state the intent (LB and
# node-to-node only) and keep the ports closed should a public IP be
# targeted. Outbound stays open (no outbound rules).
resource "hcloud_firewall" "this" {
  for_each = local.by_region
  name     = "${each.value.prefix}-fw"
  labels   = local.region_labels[each.key]

  rule {
    description = "ICMP"
    direction   = "in"
    protocol    = "icmp"
    source_ips  = ["0.0.0.0/0", "::/0"]
  }

  dynamic "rule" {
    for_each = {
      "80"    = "HTTP"
      "443"   = "HTTPS"
      "6443"  = "Kubernetes API"
      "31080" = "ingress NodePort HTTP (LB target)"
      "31443" = "ingress NodePort HTTPS (LB target)"
    }
    content {
      description = "${rule.value}, private network only"
      direction   = "in"
      protocol    = "tcp"
      port        = rule.key
      source_ips  = ["10.0.0.0/16"]
    }
  }
}

resource "hcloud_load_balancer" "this" {
  for_each           = local.by_region
  name               = "${each.value.prefix}-lb"
  load_balancer_type = "lb11"
  location           = each.key
  labels             = local.region_labels[each.key]
}

resource "hcloud_load_balancer_network" "this" {
  for_each         = local.by_region
  load_balancer_id = hcloud_load_balancer.this[each.key].id
  subnet_id        = hcloud_network_subnet.this[each.key].id
  ip               = local.lb_ip
}

# Every node of the region serves the ingress NodePorts (kube-proxy
# replacement answers on all nodes), so the LB targets them all by label.
resource "hcloud_load_balancer_target" "this" {
  for_each         = local.by_region
  type             = "label_selector"
  load_balancer_id = hcloud_load_balancer.this[each.key].id
  label_selector   = "catalyst.openova.io/sovereign=${local.fqdn_dashed},catalyst.openova.io/region=${each.key}"
  use_private_ip   = true

  depends_on = [hcloud_load_balancer_network.this]
}

resource "hcloud_load_balancer_service" "http" {
  for_each         = local.by_region
  load_balancer_id = hcloud_load_balancer.this[each.key].id
  protocol         = "tcp"
  listen_port      = 80
  destination_port = 31080

  health_check {
    protocol = "tcp"
    port     = 31080
    interval = 10
    timeout  = 5
    retries  = 3
  }
}

resource "hcloud_load_balancer_service" "https" {
  for_each         = local.by_region
  load_balancer_id = hcloud_load_balancer.this[each.key].id
  protocol         = "tcp"
  listen_port      = 443
  destination_port = 31443

  health_check {
    protocol = "tcp"
    port     = 31443
    interval = 10
    timeout  = 5
    retries  = 3
  }
}

# --- Servers ------------------------------------------------------------------

locals {
  nodes = merge(local.control_planes, local.workers)

  # Objects the first control plane of each region applies before Flux:
  # namespaces, the provider credentials, Phase-0 outputs for Flux
  # substitution, and (primary region, byo-api) the registrar token.
  bootstrap_objects = {
    for k, r in local.by_region : k => concat(
      [for ns in ["flux-system", "crossplane-system", "catalyst-system"] : {
        apiVersion = "v1"
        kind       = "Namespace"
        metadata   = { name = ns }
      }],
      [{
        apiVersion = "v1"
        kind       = "Secret"
        type       = "Opaque"
        metadata   = { name = "hcloud-credentials", namespace = "crossplane-system", labels = local.base_labels }
        data       = { token = base64encode(var.hcloud_token) }
      }],
      [{
        apiVersion = "v1"
        kind       = "ConfigMap"
        metadata   = { name = "phase0-outputs", namespace = "flux-system", labels = local.base_labels }
        data = {
          load_balancer_ipv4         = hcloud_load_balancer.this[k].ipv4
          load_balancer_ipv6         = hcloud_load_balancer.this[k].ipv6
          primary_load_balancer_ipv4 = hcloud_load_balancer.this[var.region].ipv4
          sovereign_fqdn             = var.sovereign_fqdn
          cluster_name               = r.cluster_name
          region                     = k
        }
      }],
      [for o in [{
        apiVersion = "v1"
        kind       = "Secret"
        type       = "Opaque"
        metadata   = { name = var.registrar_token_secret_name, namespace = "catalyst-system", labels = local.base_labels }
        data       = { (var.registrar_token_secret_key) = base64encode(coalesce(var.registrar_token, "-")) }
      }] : o if r.primary && var.registrar_token != null],
      # What the rendered sources reference: the GitOps source's
      # credentials, the chart registry's pull secret, the cosign keys.
      [for o in [{
        apiVersion = "v1"
        kind       = "Secret"
        type       = "Opaque"
        metadata   = { name = var.gitops_secret_name, namespace = "flux-system", labels = local.base_labels }
        data       = { for k, v in local.gitops_credentials : k => base64encode(v) }
      }] : o if var.gitops_secret_name != ""],
      [for o in [{
        apiVersion = "v1"
        kind       = "Secret"
        type       = "kubernetes.io/dockerconfigjson"
        metadata   = { name = var.registry_pull_secret_name, namespace = "flux-system", labels = local.base_labels }
        data       = { ".dockerconfigjson" = base64encode(coalesce(var.registry_pull_config, "{}")) }
      }] : o if var.registry_pull_secret_name != ""],
      [for o in [{
        apiVersion = "v1"
        kind       = "Secret"
        type       = "Opaque"
        metadata   = { name = var.sigstore_root_secret_name, namespace = "flux-system", labels = local.base_labels }
        data       = { "trusted_root.json" = base64encode(jsonencode(var.sigstore_trusted_root)) }
      }] : o if var.sigstore_root_secret_name != ""],
      [for n in var.cosign_secret_names : {
        apiVersion = "v1"
        kind       = "Secret"
        type       = "Opaque"
        metadata   = { name = n, namespace = "flux-system", labels = local.base_labels }
        data       = { for k, v in local.cosign_public_keys : k => base64encode(v) }
      }],
    )
  }
  gitops_credentials = var.gitops_credentials == null ? tomap({}) : var.gitops_credentials
  cosign_public_keys = var.cosign_public_keys == null ? tomap({}) : var.cosign_public_keys
  # Phase-0's own source reads the repository with the same credentials.
  gitops_secret_ref = [{}, { secretRef = { name = var.gitops_secret_name } }][var.gitops_secret_name == "" ? 0 : 1]

  flux_sync = {
    for k, r in local.by_region : k => [
      [{
        apiVersion = "source.toolkit.fluxcd.io/v1"
        kind       = "OCIRepository"
        metadata   = { name = "flux-system", namespace = "flux-system", labels = local.base_labels }
        spec       = merge({ interval = "1m", url = var.gitops_repo_url, ref = { tag = var.gitops_branch } }, local.gitops_secret_ref)
        }, {
        apiVersion = "source.toolkit.fluxcd.io/v1"
        kind       = "GitRepository"
        metadata   = { name = "flux-system", namespace = "flux-system", labels = local.base_labels }
        spec       = merge({ interval = "1m", url = var.gitops_repo_url, ref = { branch = var.gitops_branch } }, local.gitops_secret_ref)
      }][local.source_kind == "OCIRepository" ? 0 : 1],
      {
        apiVersion = "kustomize.toolkit.fluxcd.io/v1"
        kind       = "Kustomization"
        metadata   = { name = "flux-system", namespace = "flux-system", labels = local.base_labels }
        spec = {
          interval  = "10m"
          path      = "./${trimsuffix(trimprefix(r.gitops_path, "./"), "/")}"
          prune     = true
          sourceRef = { kind = local.source_kind, name = "flux-system" }
        }
      },
    ]
  }

  # The Cilium values bp-cilium relies on, plus the ingress NodePorts the
  # load balancer forwards to. k8sServiceHost is the first control plane:
  # 127.0.0.1:6443 only answers on servers, not on agents.
  cilium_helmchart = {
    for k, r in local.by_region : k => {
      apiVersion = "helm.cattle.io/v1"
      kind       = "HelmChart"
      metadata   = { name = "cilium", namespace = "kube-system" }
      spec = {
        repo            = "https://helm.cilium.io"
        chart           = "cilium"
        version         = local.cilium_version
        targetNamespace = "kube-system"
        bootstrap       = true
        valuesContent = yamlencode({
          kubeProxyReplacement = true
          k8sServiceHost       = local.first_cp_ip
          k8sServicePort       = 6443
          ipam                 = { mode = "kubernetes" }
          bpf                  = { masquerade = true }
          encryption           = { enabled = true, type = "wireguard" }
          l7Proxy              = true
          ingressController = {
            enabled          = true
            default          = true
            loadbalancerMode = "shared"
            service          = { type = "NodePort", insecureNodePort = 31080, secureNodePort = 31443 }
          }
        })
      }
    }
  }

  k3s_config = {
    for key, n in local.nodes : key => merge(
      {
        token        = random_password.k3s_token[n.region].result
        "node-ip"    = n.ip
        "node-name"  = n.name
        "node-label" = ["catalyst.openova.io/role=${n.role}", "catalyst.openova.io/cluster=${local.by_region[n.region].cluster_name}"]
      },
      # Indexing a tuple instead of `cond ? a : b`: the branches are
      # objects of different shapes, which a conditional refuses.
      [{
        "cluster-init"           = local.by_region[n.region].ha_enabled && n.index == 0
        "flannel-backend"        = "none"
        "disable-network-policy" = true
        "disable-kube-proxy"     = true
        "disable"                = ["traefik", "servicelb"]
        "tls-san"                = [n.ip]
        "write-kubeconfig-mode"  = "0600"
      }, {}][n.role == "control-plane" ? 0 : 1],
      [{}, { server = "https://${local.first_cp_ip}:6443" }][n.index == 0 && n.role == "control-plane" ? 0 : 1],
    )
  }
}

resource "hcloud_server" "node" {
  for_each     = local.nodes
  name         = each.value.name
  server_type  = each.value.size
  image        = "ubuntu-24.04"
  location     = each.value.region
  ssh_keys     = [hcloud_ssh_key.this.id]
  firewall_ids = [hcloud_firewall.this[each.value.region].id]
  labels       = merge(local.region_labels[each.value.region], { "catalyst.openova.io/role" = each.value.role })

  public_net {
    ipv4_enabled = true
    ipv6_enabled = true
  }

  network {
    network_id = hcloud_network.this[each.value.region].id
    ip         = each.value.ip
  }

  user_data = templatefile("${path.module}/cloud-init.yaml.tftpl", {
    node_name   = each.value.name
    k3s_exec    = each.value.role == "control-plane" ? "server" : "agent"
    k3s_version = var.k3s_version
    bootstrap   = each.value.role == "control-plane" && each.value.index == 0
    flux_url    = "https://github.com/fluxcd/flux2/releases/download/${local.flux_version}/install.yaml"
    files = concat(
      [{ path = "/etc/rancher/k3s/config.yaml", permissions = "0600", content = base64encode(yamlencode(local.k3s_config[each.key])) }],
      each.value.role == "control-plane" && each.value.index == 0 ? [
        { path = "/var/lib/rancher/k3s/server/manifests/cilium.yaml", permissions = "0600", content = base64encode(yamlencode(local.cilium_helmchart[each.value.region])) },
        { path = "/var/lib/catalyst/bootstrap/00-bootstrap.yaml", permissions = "0600", content = base64encode(join("\n---\n", [for o in local.bootstrap_objects[each.value.region] : yamlencode(o)])) },
        { path = "/var/lib/catalyst/bootstrap/10-flux-sync.yaml", permissions = "0600", content = base64encode(join("\n---\n", [for o in local.flux_sync[each.value.region] : yamlencode(o)])) },
      ] : [],
    )
  })

  lifecycle {
    # user_data carries tokens and versions: rotating a token or bumping
    # k3s must not replace running nodes (upgrades are day-2, via Flux).
    ignore_changes = [user_data, image, ssh_keys]

    # A Secret the rendered directory references must have its data: the
    # name comes from the spec, the content from TF_VAR_* at apply time.
    precondition {
      condition     = (var.gitops_secret_name == "" || var.gitops_credentials != null) && (var.registry_pull_secret_name == "" || var.registry_pull_config != null) && (length(var.cosign_secret_names) == 0 || var.cosign_public_keys != null)
      error_message = "Set TF_VAR_gitops_credentials when gitops_secret_name is set, TF_VAR_registry_pull_config when registry_pull_secret_name is set, and TF_VAR_cosign_public_keys when cosign_secret_names is not empty: the cluster directory references these Secrets."
    }

    # The trust root is rendered beside its Secret's name: both or neither.
    precondition {
      condition     = var.sigstore_root_secret_name == "" || var.sigstore_trusted_root != null
      error_message = "sigstore_trusted_root must be set when sigstore_root_secret_name is: render writes both (spec.publisher.keyless.trustedRoot, spec.sources.verify.trustedRoot)."
    }
  }

  # A server attached to a network needs its subnet first.
  depends_on = [hcloud_network_subnet.this]
}
