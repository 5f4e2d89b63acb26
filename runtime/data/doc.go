// Package data groups the readers that turn raw datasets into training
// inputs. Its subpackages: wfdb reads PhysioNet WFDB records (headers,
// format 212 signals, MIT annotations); ecg cuts labelled heartbeats from
// them and reads the Kaggle ECG CSV layout; images reads image folders
// such as PneumoniaMNIST; loader batches examples for training; digest
// hashes a dataset into the manifest digest that enters trial ids;
// splitmix is the seeded generator behind shuffles and augmentations.
package data
