//! The real control plane of `tests/control-plane`: the one a wrapper
//! (`tests/control-plane/run`) started, or one started here for this test.

use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};
use std::path::{Path, PathBuf};
use std::process::Command;

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/control-plane")
}

/// A control plane; stopped on drop if this test started it.
pub struct ControlPlane {
    pub client: Client,
    /// Its admin kubeconfig, for processes the test starts.
    pub kubeconfig: PathBuf,
    started: Option<tempfile::TempDir>,
}

impl ControlPlane {
    /// `Ok(None)` (with the reason printed) when the control plane's
    /// binaries cannot be had: the only case a test skips.
    pub async fn get() -> Result<Option<ControlPlane>, String> {
        if let Some(api) = std::env::var_os("FERROMQ_CP_API") {
            let client = Client::try_default().await.map_err(|e| e.to_string())?;
            let kubeconfig = std::env::var_os("KUBECONFIG")
                .map(PathBuf::from)
                .ok_or_else(|| format!("FERROMQ_CP_API={api:?} is set but KUBECONFIG is not"))?;
            return Ok(Some(ControlPlane {
                client,
                kubeconfig,
                started: None,
            }));
        }
        let build = Command::new(scripts().join("build"))
            .status()
            .map_err(|e| e.to_string())?;
        if !build.success() {
            eprintln!(
                "SKIPPED: the control plane's binaries cannot be had (tests/control-plane/build failed)"
            );
            return Ok(None);
        }
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let up = Command::new(scripts().join("up"))
            .arg(dir.path())
            .status()
            .map_err(|e| e.to_string())?;
        if !up.success() {
            return Err("tests/control-plane/up failed".into());
        }
        let path = dir.path().join("kubeconfig");
        let kubeconfig = Kubeconfig::read_from(&path).map_err(|e| e.to_string())?;
        let config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .map_err(|e| e.to_string())?;
        let client = Client::try_from(config).map_err(|e| e.to_string())?;
        Ok(Some(ControlPlane {
            client,
            kubeconfig: path,
            started: Some(dir),
        }))
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        if let Some(dir) = &self.started {
            let _ = Command::new(scripts().join("down"))
                .arg(dir.path())
                .status();
        }
    }
}
