#!/usr/bin/env bash
# Fetch MIT-BIH Arrhythmia Database records (WFDB .hea, .dat, .atr) from PhysioNet into a
# directory, checking every file against the sha256 embedded below. Idempotent: files already
# there with the right checksum are kept; a missing or damaged one is downloaded again.
#
#   scripts/mitdb.sh DIR RECORD...     e.g. scripts/mitdb.sh ~/.cache/parak8s/mitdb 106 118
#
# Prints DIR on stdout when every file is in place (progress goes to stderr); exits 1 when a
# download fails or a file does not match its checksum (the bad file is not kept). DIR/RECORDS
# then lists the complete records in DIR, as PhysioNet's RECORDS file does.
#
# Environment:
#   MITDB_URL   base URL of the database (default https://physionet.org/files/mitdb/1.0.0);
#               a mirror, or file:///path for a local copy
#
# The checksums cover the 22 DS1 records (de Chazal et al. 2004: the training half of the
# inter-patient split used by the examples); a record without one is refused.
set -euo pipefail

MITDB_URL="${MITDB_URL:-https://physionet.org/files/mitdb/1.0.0}"

# sha256  file
SUMS="
  441cdd6486cfdf4c53e344d1048ab81296773e7058d53069022adc68543a0663  101.atr
  698d1ea6f472d23ca50317c72c96cda2698badd8578220ed0380cdf241e39006  101.dat
  d5f02fbe8673fa05465442191b98ca0d28a1670e7ef0e83fb9ef8723113a311c  101.hea
  585347e6d1bd3ad89cdb52cb80945878a5e51026d81f871a376bb6e13936f7fa  106.atr
  c017bc18b95b1f970bca143a044ee5d54168648b541e47aa656f2737a59c1202  106.dat
  ad5ed3ee5603926a07a09f0d0c9e2a7ff10a705dbafcde3d185317730a8839ab  106.hea
  ea227008ac3bc4ada87807117909e77ae0643d5a8bc09f32b9096a35f140cbf3  108.atr
  229a4ef62679dc5c6ea781bfbaec2bd784151fc9f9517f4cdecd533a9431eb20  108.dat
  1c461d963db1883589a975daa80b4104eee6cabb2f5cfec3e0d63b78e7a6a405  108.hea
  2eef456587bab17263a126063321c040affa29bc4ccfdf2a2bc7fe50709fa1b8  109.atr
  267afd6ced7a1fd5a8bcd21fcc2b83287e37e3ef57f32e8a0fe39a6e021951cd  109.dat
  3b21402a9a096acb6a2199b25681e40b0dd201494cb023ded514cd9726bb7fad  109.hea
  69cf7ee24d65a5430162ae9b6452be9d4855c2af47f91976b7f02038ea115002  112.atr
  3c7af9758687314255b5d946a58d9509d53ecf2a300230684fa8ecf00b774bdb  112.dat
  a78dc4b0907b3db806395cff76b3a2e9a70e889b9dc3702c7de55aa8b41abd7d  112.hea
  5280acb082b654d64944137987a00fbc2105b3a3fcdda75d0bf11d4644e40d9f  114.atr
  2ae83463edcfec256b79ce93716dcb40f289bacbe9e5e7a66cd00d0a31099d4b  114.dat
  830ba89cebf60945db0c78332e3cc6c64acbe218f6f16594660d4f17423ee889  114.hea
  4980667b19b7a637729d40762f071b483d69f5431db818cbddc9a8ae64cc4da2  115.atr
  34185efe9889608c76ebfbf5a467d3457970c6d11b77a2bf81b94bcf46e07c41  115.dat
  3212847a692bf3bc5e1dde0343d272e7d56735983276031420060d51d0cdd41c  115.hea
  abd31e2c878073e67319d5a6fa34923fe117cca02e5c80318378405c853ccbef  116.atr
  0ab38cfca76d816673213dcd570504bb3ab02ef76d51540fd7a6075bc580ad85  116.dat
  5553273cafa68c106468ddfaa3bd1d6a30daec53cff1642d3592a20110b2edad  116.hea
  77afd5400648d128223d5029a49c442f5abd65ba997f732489cb8eed39d71551  118.atr
  66ea4b70b7d64abd0f49089ae1b8f0f577664c46e5b29ac23b291934e063df15  118.dat
  48a3d0c4e7742ca0e39a2cbb3ea5142a4d41261adbd0bb25651e0fcd9c6aef2b  118.hea
  fd919c8ea20eed4a22fb37984977f30ce48d382eefd2d90934bf947a88e0fd7b  119.atr
  02a286a28e69b441568add915f16a2856b22bab893bf8729ee9654411ed3a5aa  119.dat
  658f01382d7280a06e2f4c06363569d477394a6898c69ee788bb383f6092df63  119.hea
  34966d92a94c72126253c0297407cff78e53be1f72c6814e28676bcda8be90de  122.atr
  a700c794bfe23565603d75dc5706915f5436e522802d260e758683d11f5b9e13  122.dat
  b43ca64ed2c6e69d15def2c30f8cb2cbf25cb807f9530b1e7d5cfed2fd496f70  122.hea
  f9c8cac368f1f6ba8895ae47f5771c82597374c1e6b030385ca2eb186454677c  124.atr
  296988e49d2653eb499ad0b17c46826b4296b7eaf94df3f76f1ba2dcdf6bc48b  124.dat
  2200f917fe7a1fa817b79069a274d3291a6fa66289521af5e7d38edeb3e82bce  124.hea
  df1276b6c6952b177ec6eea2be3edc7a96888454107a3ee56be880b0afaf6f35  201.atr
  16610ae46eff900794597503d15af4572a8b1518f18dbed2843b7e68c81f3898  201.dat
  dba34d6252879af28c1d10cde200989a4f6507d98df4395f5cba5f81af5b7e5a  201.hea
  2573f948e54a538983a44bf946e3e61cdda60e898b4c65ca8559b57c4877c706  203.atr
  5ba7d2237fc838438efd8bb0a3baeffc5de2e70c76e3ab7e401e811ad82f43e0  203.dat
  25b3a3107dd00221b245ef5c23ffdfbd07caaf58e2cf377734f3a947361b26a5  203.hea
  0ae55e31175b9ba36e09c3b556b15e3e70f254936a2634d5ff341dfb86a74ea9  205.atr
  8a513c39e6d9a1d732de0b3909a87aa1fcfd4bd55ab5f59a5b810967d252af36  205.dat
  739f76bbcbbfdad1f260a043a5f7106f6e912894065b15ea75bee42af0380a2a  205.hea
  cceb64d68033a277d2d5669458d49258295102dd3e20614a0ca7d63b67009404  207.atr
  139f99250366fbf347cba4d8ea1fbe788f98cb1b93b70f50ccba70122d908605  207.dat
  7645d488d4c304760aae0a709193ffa13692c317b551bcbdcbb37011032178d8  207.hea
  33878519ee34d00cb233fdb15b11c2b8da0b0aea2e643d31b07105cc3392edf4  208.atr
  22873623623c44ee413a5b60cacb15d4af2723734836fb3ae45d9ff96bdb36e7  208.dat
  5a27efda1bea972440a0b5f40a1c322898693e9602d5ce4722fe750b7dea46e9  208.hea
  c0697b176e7caf49e34f93e28eaeeff7167e2de380a8698f6cb3fb3a5fcb1c84  209.atr
  e2516dd126ea85529d9a0e8442fef5d880a492d41f0692a76e648c8437f15c5f  209.dat
  9ac1abedc17f898bf6a1db9c64c38ccf4f065ebc3989ee7740f4c0796655e590  209.hea
  94968307b89eb0be766cbb88617f08571ed41b3b25b294d19a72b7ffd2525aee  215.atr
  9e28799b5733a2d60470653e6f6ca26610143303233a1b7559cff54e2ad26ef9  215.dat
  a326c25698a0773a6be986f2cae499981224d3c61d8fdcddfbb3beaf3ff0bcbd  215.hea
  9cf9f330823e2a9850d51a7fce1f8ecfe5bb84e80e89412bd9f4de6a67f9ccc7  220.atr
  c01ca1a76fb3a89e96134a08f2e5aa6e760eda59ea9086ba8aaa13ba0cca9cff  220.dat
  af40adc6deb9c0e942432e69a7153e41ac252eb6c15a24a715ef258469cda2e5  220.hea
  beaa5cb3eb5fb64a5f9e1dfcac9297f9564b379c9c354cbf8f9f927d9b81ccf1  223.atr
  1d42aa9e13f7349287ae5f0f00b40078c01aadd39e2cad1001ab42d3b7484594  223.dat
  bbd414e57b6eafa53204fb7eeb1212c9d47f598f36e8838b103bfb68a316ca85  223.hea
  403d0d4842ba7135b1e14b9e5c50cba214753a0e17bf979090b2c6a8018f7eae  230.atr
  fba09ea54d9caa342c54c46e0df247335345b02444f7d15162906adfef55d057  230.dat
  5738bb479316dcc324b27807bbbffd8878da6156707c6cfbc08dcd0fa4771671  230.hea
"

die() { echo "mitdb.sh: $*" >&2; exit 1; }

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

want() { # want FILE: its embedded checksum, or nothing
  awk -v f="$1" '$2 == f { print $1 }' <<<"$SUMS"
}

fetch() { # fetch URL DEST
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 3 --retry-delay 2 --connect-timeout 20 -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q --tries=3 --timeout=20 -O "$2" "$1"
  else
    die "neither curl nor wget is installed"
  fi
}

[[ $# -ge 2 ]] || { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2; exit 2; }
dir=$1
shift
for r in "$@"; do
  [[ $r =~ ^[0-9]+$ && -n $(want "$r.hea") ]] || die "no checksum for record '$r' (known:$(awk 'NF == 2 && $2 ~ /\.hea$/ { sub(/\.hea$/, "", $2); printf " %s", $2 }' <<<"$SUMS"))"
done
mkdir -p "$dir"

fetched=0
for r in "$@"; do
  for ext in hea dat atr; do
    f="$r.$ext"
    sum=$(want "$f")
    if [[ -f "$dir/$f" && $(sha256 "$dir/$f") == "$sum" ]]; then
      continue
    fi
    tmp=$(mktemp "$dir/.$f.XXXXXX")
    if ! fetch "$MITDB_URL/$f" "$tmp"; then
      rm -f "$tmp"
      die "downloading $MITDB_URL/$f failed"
    fi
    got=$(sha256 "$tmp")
    if [[ $got != "$sum" ]]; then
      rm -f "$tmp"
      die "$MITDB_URL/$f: sha256 $got, want $sum; not kept"
    fi
    chmod 0644 "$tmp"
    mv -f "$tmp" "$dir/$f"
    fetched=$((fetched + 1))
    echo "mitdb.sh: $f ok" >&2
  done
done

# RECORDS: every record in DIR whose three files are there.
records=$(for h in "$dir"/*.hea; do
  [[ -e $h ]] || continue
  r=$(basename "$h" .hea)
  [[ -f "$dir/$r.dat" && -f "$dir/$r.atr" ]] && echo "$r"
done | sort -n)
if [[ ! -f "$dir/RECORDS" || $(cat "$dir/RECORDS") != "$records" ]]; then
  tmp=$(mktemp "$dir/.RECORDS.XXXXXX")
  printf '%s\n' "$records" >"$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$dir/RECORDS"
fi
echo "mitdb.sh: $# records in $dir ($fetched of $(( $# * 3 )) files downloaded)" >&2
echo "$dir"
