//! Converting the Keras toxicity classifier. Its weights are HDF5, which only h5py reads well,
//! so this one step runs a small Python script in a private virtual environment.

use std::path::PathBuf;
use std::process::Command;

use crate::cache::Cache;
use crate::error::Result;
use crate::manifest::{CONVERTER_REQUIREMENTS, TOXIC_CLASSIFIER};
use crate::pip::{python, run};

const SCRIPT: &str = include_str!("../python/convert_toxicity.py");

pub fn convert(cache: &Cache) -> Result<String> {
    let env = cache.python_env();
    let env_python: PathBuf = env.join("bin").join("python");
    if !env_python.exists() {
        run(Command::new(python()).args(["-m", "venv"]).arg(&env))?;
    }
    run(Command::new(&env_python)
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--only-binary=:all:"])
        .args(CONVERTER_REQUIREMENTS))?;
    let script = env.join("convert_toxicity.py");
    std::fs::write(&script, SCRIPT).map_err(crate::error::io(&script))?;
    let [weights, tokenizer] = [0, 1].map(|i| cache.raw().join(TOXIC_CLASSIFIER.files[i]));
    run(Command::new(&env_python).arg(&script).arg(weights).arg(tokenizer).arg(cache.toxicity()))?;
    Ok(format!("{}", cache.toxicity().display()))
}
