"""Parameters & FLOPs: where each network spends its weights and its compute."""
import pandas as pd
import streamlit as st

from explorer import claims, costs, figures, images, zoo
from explorer.ui import sidebar, widgets

selection = sidebar.current()
spec = selection.spec
summary = costs.summary(spec.key)
shares = costs.shares(spec.key)
tap_names = {t.module: t.name for t in zoo.taps(spec.key) if t.io == "output"}

st.title(f"Parameters & FLOPs · {spec.name}")
columns = st.columns([1.5, 1, 1, 0.9, 1.2])
columns[0].metric("Parameters", f"{summary.params:,}")
columns[1].metric("MACs", figures.human_count(summary.macs), help=f"{summary.macs:,} multiply-accumulates")
columns[2].metric("FLOPs", figures.human_count(2 * summary.macs), help="2 × MACs: one multiply and one add")
columns[3].metric("Weight layers", summary.depth, help="Convolutions and linear layers on the longest path "
                  "from input to output: the depth the papers quote.")
columns[4].metric("In fully connected layers", f"{shares.fc_params / summary.params:.1%}",
                  help="Share of the parameters held by nn.Linear layers.")
st.caption(f"MACs count the multiply-accumulates of convolutions and linear layers (torch.utils.flop_counter, "
           f"torchvision's `_ops` convention); FLOPs = 2 × MACs. Not counted: {costs.NOT_COUNTED}. "
           "Counted on the architecture, so exact with random or trained weights alike.")

st.subheader("Every layer")
table = pd.DataFrame(costs.tap_table(spec.key))
st.dataframe(table, hide_index=True, height=360, key="cost_table",
             column_config={"activation KiB (fp32)": st.column_config.NumberColumn(format="%.1f"),
                            "params": st.column_config.NumberColumn(format="localized"),
                            "MACs": st.column_config.NumberColumn(format="localized"),
                            "FLOPs (2×MACs)": st.column_config.NumberColumn(format="localized")})
st.download_button("Download table (CSV)", table.to_csv(index=False), file_name=f"{spec.key}-costs.csv",
                   mime="text/csv", key="cost_csv")
st.caption("Receptive field: input pixels one unit of the map can see, in theory (padding ignored); jump: "
           "input pixels between neighbouring units. Click a column header to sort.")

st.subheader("Where the weights and the compute are")
layers = costs.weight_layers(spec.key)
st.plotly_chart(figures.layer_costs_figure(layers, tap_names), key="layer_costs")
st.plotly_chart(figures.shares_figure(shares), key="shares")
left, right = st.columns(2)
with left:
    by = st.radio("Size the hierarchy by", ["params", "macs"], horizontal=True, key="treemap_by",
                  format_func={"params": "parameters", "macs": "MACs"}.get)
    st.plotly_chart(figures.module_treemap(costs.module_tree(spec.key), by, spec.name), key="treemap")
right.plotly_chart(figures.cumulative_share_figure(layers, tap_names), key="cumulative")

st.subheader("Receptive field")
spatial = [t for t in summary.taps if t.rf is not None]
chosen = summary.tap(widgets.stepper("Tap", [t.name for t in spatial], key=f"rf_tap:{spec.key}"))
picture = images.input_views(selection.image.image, spec.preprocess).cropped
left, right = st.columns([1, 1])
left.image(figures.receptive_field_box(picture, chosen.rf, chosen.jump, chosen.start, chosen.shape[1]),
           caption=f"The centre unit of {chosen.name} sees {chosen.rf}×{chosen.rf} input pixels"
                   f"{' — more than the whole input' if chosen.rf > spec.preprocess.crop else ''}.",
           width="stretch")
right.markdown(f"**{chosen.name}** · output {'×'.join(map(str, chosen.shape))} · receptive field "
               f"**{chosen.rf}** px · jump **{chosen.jump}** px")
right.caption("Computed by following every operation of a forward pass: convolutions and pooling grow the "
              "field by (k − 1) × jump and multiply the jump by their stride; where branches meet (a "
              "residual sum, an Inception concatenation) the merged map takes the largest field, since a "
              "unit sees the union of what its centre-aligned branches see. For an Inception module that is "
              "its widest branch (the 5×5 or the double 3×3).")
pair = costs.stacked_3x3(spec.key)
if pair:
    names = f"{tap_names.get(pair.first, pair.first)} + {tap_names.get(pair.second, pair.second)}"
    right.markdown(f"**Two 3×3 vs one 5×5**, measured on this network's {names} ({pair.channels} channels): "
                   f"receptive field {pair.stacked_rf} with **{pair.stacked_params:,}** parameters, against "
                   f"{pair.single_rf} with **{pair.single_params:,}** for one 5×5 convolution — "
                   f"{pair.stacked_params / pair.single_params:.1%} of the weights, and one more ReLU.")

options = costs.fc6_what_if(spec.key)
if options:
    st.subheader("What if: the classifier head")
    st.dataframe(pd.DataFrame([{"head": o.label, "fc6 parameters": o.fc6_params,
                                "network parameters": o.network_params} for o in options]),
                 hide_index=True, key="what_if",
                 column_config={"fc6 parameters": st.column_config.NumberColumn(format="localized"),
                                "network parameters": st.column_config.NumberColumn(format="localized")})
    st.caption("fc6 sees every position of every final map, so its weights grow with channels × height × "
               "width: stopping VGG at 512 channels keeps it at ~103 M; global average pooling (GoogLeNet's "
               "choice) removes the spatial factor altogether.")

st.subheader("The lecture's claims, measured")
widgets.claim_cards([claim() for claim in claims.COSTS_CLAIMS])
